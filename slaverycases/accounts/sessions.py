from __future__ import annotations

from django.contrib.sessions.models import Session
from django.utils import timezone

from slaverycases.accounts.models import User


def end_all_sessions(user: User) -> int:
    """Delete every live database session that belongs to the user; returns how many.

    Sessions are signed blobs, so each live one is decoded: fine for the few thousand live
    sessions of a force. (A session index table would replace this at national scale.)
    """
    ended = 0
    user_pk = str(user.pk)
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == user_pk:
            session.delete()
            ended += 1
    return ended
