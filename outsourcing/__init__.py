"""outsourcing: project postings from freelance and outsourcing platforms, in one schema."""

__version__ = "0.1.0"
