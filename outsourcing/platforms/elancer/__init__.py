"""Elancer 이랜서 (www.elancer.co.kr): the robots-friendly path, sitemap.xml for the project pages
and each page's JobPosting JSON-LD (the list API on api.elancer.co.kr is disallowed by robots)."""
