"""Measures of a campaign's judgments: agreement, rating-vs-ranking consistency, position bias, gold accuracy,
annotator quality and a Bradley-Terry leaderboard.

The modules next to this one are pure numpy over flat arrays; `data` reads a campaign into such arrays with a
few aggregated queries and `report` assembles the JSON report from them.
"""
