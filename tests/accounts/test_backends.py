"""accounts.backends: a user's roles and permissions come from one query, and mean what
Django's ModelBackend means by them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from slaverycases.accounts import roles
from slaverycases.accounts.models import User

pytestmark = pytest.mark.django_db


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def test_roles_and_permissions_are_read_in_one_query(people, django_assert_num_queries):
    supervisor = fresh(people["supervisor.gmp"])
    with django_assert_num_queries(1):
        assert supervisor.role_names == [roles.SUPERVISOR]
        assert supervisor.has_perm("investigations.view_investigation")
        assert supervisor.has_perm("investigations.review_retention") is False
        assert supervisor.has_role(roles.SUPERVISOR)
    officer = fresh(people["officer.gmp"])
    with django_assert_num_queries(1):
        assert officer.has_perm("investigations.add_investigation")
        assert officer.role_names == [roles.OFFICER]


def test_the_permissions_are_those_django_would_give(people):
    from django.contrib.auth.backends import ModelBackend

    for user in people.values():
        assert fresh(user).get_all_permissions() == ModelBackend().get_all_permissions(
            fresh(user)
        ), user.username


def test_a_permission_given_to_the_user_alone_counts(people):
    auditor = people["auditor"]
    assert not fresh(auditor).has_perm("referrals.add_nrmreferral")
    auditor.user_permissions.add(
        Permission.objects.get(content_type__app_label="referrals", codename="add_nrmreferral")
    )
    assert fresh(auditor).has_perm("referrals.add_nrmreferral")
    assert fresh(auditor).role_names == [roles.AUDITOR]


def test_a_group_without_permissions_still_gives_its_role(people):
    officer = people["officer.gmp"]
    group = Group.objects.get(name=roles.OFFICER)
    saved = list(group.permissions.all())
    group.permissions.clear()
    user = fresh(officer)
    assert user.role_names == [roles.OFFICER]
    assert not user.has_perm("investigations.add_investigation")
    group.permissions.set(saved)


def test_inactive_users_have_no_permissions_and_superusers_have_all(people):
    officer = people["officer.gmp"]
    User.objects.filter(pk=officer.pk).update(is_active=False)
    assert fresh(officer).get_all_permissions() == set()
    User.objects.filter(pk=officer.pk).update(is_active=True, is_superuser=True)
    assert fresh(officer).get_all_permissions() == {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.select_related("content_type")
    }
