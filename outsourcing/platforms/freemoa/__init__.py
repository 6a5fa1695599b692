"""Freemoa (freemoa.net, 프리모아): the site's own JSON XHR API (session cookie, form POSTs to
`/m4a/s41a` for the list and `/m4a/s41v` for a project)."""
