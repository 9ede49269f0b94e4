"""The policy as a matrix: every role, action and own / other imprint."""

from __future__ import annotations

import pytest

from accounts import policy
from accounts.models import Role
from accounts.policy import Action, Category
from tests.factories import ImprintFactory, member

# Written out by hand (not derived from policy.ROLE_ACTIONS) so the test can fail.
Y, N = True, False
EXPECTED = {
    #                    view prev draft appr record conf stmts import sync oper audit
    Role.VIEWER:          (Y,  N,   N,    N,   N,     N,   N,    N,     N,   N,   N),
    Role.MARKETING:       (Y,  Y,   Y,    Y,   N,     N,   N,    Y,     N,   N,   N),
    Role.RIGHTS_MANAGER:  (Y,  Y,   Y,    Y,   Y,     N,   N,    N,     N,   N,   N),
    Role.ROYALTIES:       (Y,  Y,   Y,    Y,   N,     N,   Y,    Y,     N,   N,   N),
    Role.PROJECT_MANAGER: (Y,  Y,   Y,    Y,   Y,     N,   N,    N,     N,   N,   N),
    Role.IMPRINT_ADMIN:   (Y,  Y,   Y,    Y,   Y,     Y,   Y,    Y,     Y,   Y,   Y),
}  # fmt: skip
ACTIONS = [
    Action.VIEW, Action.PREVIEW, Action.DRAFT, Action.APPROVE, Action.RECORD_RESPONSE,
    Action.CONFIGURE, Action.CONFIGURE_STATEMENTS, Action.IMPORT, Action.SYNC, Action.OPERATE,
    Action.AUDIT,
]  # fmt: skip

CASES = [
    (role, action, expected)
    for role, row in EXPECTED.items()
    for action, expected in zip(ACTIONS, row, strict=True)
]


def test_matrix_covers_every_role_and_action():
    assert set(EXPECTED) == set(Role)
    assert set(ACTIONS) == set(Action)


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "action", "expected"), CASES)
def test_role_action_own_and_other_imprint(role, action, expected):
    own, other = ImprintFactory(), ImprintFactory()
    user = member(role, own)
    assert policy.can(user, action, own) is expected
    assert policy.can(user, action, other) is False  # never in another imprint
    assert (own in policy.imprints_for(user, action)) is expected
    assert other not in policy.imprints_for(user, action)


@pytest.mark.django_db
def test_superuser_may_do_everything_everywhere(superuser):
    imprint = ImprintFactory()
    assert all(policy.can(superuser, a, imprint) for a in Action)


@pytest.mark.django_db
def test_anonymous_and_inactive_may_do_nothing(imprint_a, admin_a):
    from django.contrib.auth.models import AnonymousUser

    assert not policy.can(AnonymousUser(), Action.VIEW, imprint_a)
    admin_a.is_active = False
    assert not policy.can(admin_a, Action.VIEW, imprint_a)
    assert list(policy.imprints_for(admin_a)) == []


@pytest.mark.django_db
def test_for_user_narrows_querysets(imprint_a, imprint_b, rights_manager):
    from accounts.models import Imprint

    qs = policy.for_user(rights_manager, Imprint.objects.all(), imprint_field="pk")
    assert list(qs) == [imprint_a]


@pytest.mark.django_db
def test_objects_are_judged_by_their_imprint(imprint_a, imprint_b, marketing):
    class Thing:
        def __init__(self, imprint_id):
            self.imprint_id = imprint_id

    assert policy.can(marketing, Action.PREVIEW, Thing(imprint_a.pk))
    assert not policy.can(marketing, Action.PREVIEW, Thing(imprint_b.pk))
    with pytest.raises(Exception, match="may not preview"):
        policy.require(marketing, Action.PREVIEW, Thing(imprint_b.pk))


@pytest.mark.django_db
class TestCategoryRules:
    def test_rights_letters_are_drafted_by_rights_managers(
        self, imprint_a, rights_manager, marketing
    ):
        assert policy.can_draft(rights_manager, Category.RIGHTS, imprint_a)
        assert not policy.can_draft(marketing, Category.RIGHTS, imprint_a)

    def test_nobody_approves_their_own_submission(self, imprint_a, rights_manager, superuser):
        assert not policy.can_approve(
            rights_manager, Category.RIGHTS, imprint_a, author_ids={rights_manager.pk}
        )
        assert not policy.can_approve(
            superuser, Category.RIGHTS, imprint_a, author_ids={superuser.pk}
        )
        reason = policy.approval_refusal(
            rights_manager, Category.RIGHTS, imprint_a, author_ids={rights_manager.pk}
        )
        assert reason and "another person" in reason

    def test_refusal_names_who_may_approve_instead(
        self, imprint_a, imprint_b, rights_manager, second_rights_manager, admin_a, marketing
    ):
        member(Role.RIGHTS_MANAGER, imprint_b)  # another imprint's: never named
        own = policy.approval_refusal(
            rights_manager, Category.RIGHTS, imprint_a, author_ids={rights_manager.pk}
        )
        assert own is not None and "change your role" not in own
        names = sorted([second_rights_manager.get_full_name(), admin_a.get_full_name()])
        assert own.endswith(f"Ask {names[0]} or {names[1]}.")
        assert rights_manager.get_full_name() not in own
        wrong_role = policy.approval_refusal(
            marketing, Category.RIGHTS, imprint_a, author_ids={rights_manager.pk}
        )
        assert wrong_role is not None and second_rights_manager.get_full_name() in wrong_role
        assert rights_manager.get_full_name() not in wrong_role  # the submitter cannot

    def test_refusal_says_when_nobody_else_may_approve(self, imprint_b, outsider):
        reason = policy.approval_refusal(
            outsider, Category.RIGHTS, imprint_b, author_ids={outsider.pk}
        )
        assert reason is not None and "Nobody else in this imprint may approve" in reason

    def test_another_rights_manager_may_approve(
        self, imprint_a, rights_manager, second_rights_manager
    ):
        assert policy.can_approve(
            second_rights_manager, Category.RIGHTS, imprint_a, author_ids={rights_manager.pk}
        )

    def test_wrong_role_may_not_approve(self, imprint_a, rights_manager, marketing):
        assert not policy.can_approve(
            marketing, Category.RIGHTS, imprint_a, author_ids={rights_manager.pk}
        )
        reason = policy.approval_refusal(
            marketing, Category.RIGHTS, imprint_a, author_ids={rights_manager.pk}
        )
        assert reason and "Rights manager" in reason

    def test_wrong_imprint_may_not_approve(self, imprint_a, imprint_b, rights_manager):
        other_rm = member(Role.RIGHTS_MANAGER, imprint_b)
        assert not policy.can_approve(
            other_rm, Category.RIGHTS, imprint_a, author_ids={rights_manager.pk}
        )

    def test_admin_approves_any_category(self, imprint_a, admin_a, marketing):
        for category in Category:
            assert policy.can_approve(admin_a, category, imprint_a, author_ids={marketing.pk})
