"""One router per resource, mounted under /v1 by `registry_api.app.create_app`."""
