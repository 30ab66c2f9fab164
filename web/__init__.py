"""Houqin over HTTP: the JSON API, the HTML pages, and the command line that serves them."""
