"""Usage facts: the audit log folded into hourly counters, totals and per-hour-of-week baselines.

``fold`` consumes the sequenced audit log past a watermark, ``baselines`` learns each agent's
usual hourly volume, ``selectors`` answers "last used, and how often" for access reviews. The
token endpoint and the decision point write nothing for it: their audit entries are the input.
"""
