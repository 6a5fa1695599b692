"""Guru (guru.com): the server-rendered job listing `/d/jobs/` and its `/pg/<n>/` pages."""
