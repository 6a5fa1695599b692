"""Kmong 크몽 (kmong.com): the buyers' "프로젝트 의뢰" (custom-project) board, read from the
site's own JSON API, or from the JSON the board page fetches in a headless browser."""
