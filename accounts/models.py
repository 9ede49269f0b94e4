"""People, imprints, territories and who may do what where."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A member of staff. Logs in with an e-mail address."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Imprint(models.Model):
    """A publishing imprint; every title, setting and communication belongs to one."""

    name = models.CharField(max_length=200, unique=True)
    consonance_id = models.IntegerField(
        unique=True, null=True, blank=True, help_text="The imprint's id in Consonance."
    )
    code = models.SlugField(max_length=40, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Territory(models.Model):
    """An ISO 3166-1 country (GB, FR …) or a named group of countries (WORLD, EU …)."""

    class Kind(models.TextChoices):
        COUNTRY = "country", "Country"
        GROUP = "group", "Group"

    code = models.CharField(max_length=10, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.COUNTRY)
    members = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="groups",
        help_text="For a group: the countries it contains. WORLD contains every country.",
    )

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "territories"

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    def covers(self, country_code: str) -> bool:
        """Does this territory include the given ISO country code?"""
        code = country_code.upper()
        if self.code == code or self.code == "WORLD":
            return True
        if self.kind == self.Kind.GROUP:
            return self.members.filter(code=code).exists()
        return False


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    MARKETING = "marketing", "Marketing"
    RIGHTS_MANAGER = "rights_manager", "Rights manager"
    ROYALTIES = "royalties", "Royalties"
    PROJECT_MANAGER = "project_manager", "Project manager"
    IMPRINT_ADMIN = "imprint_admin", "Imprint admin"


class Membership(models.Model):
    """A user's role in one imprint. A user may hold several roles in several imprints."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    imprint = models.ForeignKey(Imprint, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "imprint", "role"], name="uniq_membership")
        ]
        ordering = ["imprint__name", "role"]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.imprint}"


class AuditEvent(models.Model):
    """Append-only record of who did what, to what, when. Written by ``accounts.audit.log_action``
    inside the caller's transaction; it also feeds the per-title timeline."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, help_text="Who, even after the user is gone.")
    verb = models.CharField(max_length=80, db_index=True)
    imprint = models.ForeignKey(
        Imprint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    work_id = models.BigIntegerField(
        null=True, blank=True, db_index=True, help_text="Title this event belongs to, if any."
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.verb} {self.target_label}"
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("Audit events are append-only.")
