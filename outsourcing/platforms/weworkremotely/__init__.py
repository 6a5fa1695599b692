"""We Work Remotely (weworkremotely.com): the public RSS feeds."""
