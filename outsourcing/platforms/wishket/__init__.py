"""Wishket (wishket.com, 위시켓): the list endpoint's JSON-wrapped card fragment (`/project/?d=`,
an LZString-compressed filter) and each project's detail page (JSON-LD JobPosting + condition rows)."""
