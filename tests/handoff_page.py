"""The login hand-off page as tests read it (accounts/handoff.py renders it).

Its form carries the token to the tenant host; a browser's script submits it at once, so the
test clients find the form with this pattern and post it themselves.
"""

import re

HANDOFF_FORM = re.compile(
    r'<form method="post" action="(?P<action>[^"]+)" data-autosubmit>\s*'
    r'<input type="hidden" name="token" value="(?P<token>[^"]+)">'
)
