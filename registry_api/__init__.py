"""The office service: command line, identity, and (later) the API, relayer and mirror."""
