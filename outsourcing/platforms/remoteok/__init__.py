"""RemoteOK (remoteok.com): the public JSON API, one call for the whole board."""
