"""Accounts in the back office. Profile changes, activation and deletion go through
users.services, as the API's do: a superuser's account is changed or deleted by a superuser
only, deactivating ends the account's tokens, deleting runs the on_user_deleted hooks (the
wishlist goes). Staff rights (is_superuser, groups, permissions) exist only here; they are
written as the only columns of their save."""

from contextvars import ContextVar

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.http import HttpResponseRedirect
from django.shortcuts import redirect

from ecommerce.api.exceptions import ApplicationError
from users import services
from users.exceptions import SuperuserAccount
from users.models import User

_PROFILE = ["email", "first_name", "last_name", "phone", "is_staff"]
# Who is setting a password on the admin's "change password" page (the form has no request).
_acting_user: ContextVar = ContextVar("admin_acting_user")


class PasswordSetForm(AdminPasswordChangeForm):
    """Another account's new password, set through users.services: validated there, and
    ending every token the account holds. No "unusable password" choice: to shut an
    account out, deactivate it (which ends its tokens too)."""

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields.pop("usable_password", None)
        self.fields["password1"].required = self.fields["password2"].required = True

    def save(self, commit=True):
        return services.user_update(
            user=self.user, actor=_acting_user.get(), data={"password": self.cleaned_data["password1"]}
        )


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["id"]
    list_display = ["id", "email", "first_name", "last_name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["first_name", "last_name", "phone"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["date_joined", "last_login"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    actions = None  # no bulk delete around users.services
    change_password_form = PasswordSetForm

    def user_change_password(self, request, id, form_url=""):
        if str(request.user.pk) == unquote(id):
            # One's own password changes with the current one, on the admin's own page.
            return redirect("admin:password_change")
        acting = _acting_user.set(request.user)
        try:
            return super().user_change_password(request, id, form_url)
        except ApplicationError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.path)
        finally:
            _acting_user.reset(acting)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.path)

    def save_model(self, request, obj, form, change):
        if not change:
            # The add form has validated and hashed the password already.
            super().save_model(request, obj, form, change)
            return
        changed = set(form.changed_data)
        current = User.objects.get(pk=obj.pk)
        profile = {name: form.cleaned_data[name] for name in _PROFILE if name in changed}
        if profile:
            services.user_update(user=current, actor=request.user, data=profile)
        if "is_active" in changed:
            services.user_set_active(user=current, is_active=form.cleaned_data["is_active"])
        if "is_superuser" in changed:
            if not request.user.is_superuser:
                raise SuperuserAccount()
            current.is_superuser = form.cleaned_data["is_superuser"]
            current.save(update_fields=["is_superuser"])

    def delete_view(self, request, object_id, extra_context=None):
        # Not inside Django's transaction: the service commits the row, then its hooks write
        # to MongoDB, and no PostgreSQL transaction may stay open across that.
        try:
            return self._delete_view(request, object_id, extra_context)
        except ApplicationError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.path)

    def delete_model(self, request, obj):
        services.user_delete(actor=request.user, user=obj)
