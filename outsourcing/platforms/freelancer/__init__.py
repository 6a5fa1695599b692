"""Freelancer.com: the public projects REST API (`/api/projects/0.1/projects/active/`), no web pages."""
