"""The market report (`scrapy report`): what the stored postings and their history say about the
market over a period. Figures come from the shared query layer (outsourcing.query: the same SQL
as the read API) into one data model (figures.py), which three renderers turn into a terminal
summary (text.py), JSON (the model itself) and a self-contained HTML page with server-side SVG
charts (html.py, charts.py). The report only reads: read-only sessions, never a write."""
