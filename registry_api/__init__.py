"""The office service: HTTP API, relayer, SQL mirror, identity (the office CA), `ipledger` CLI."""
