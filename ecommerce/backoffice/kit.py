"""Building blocks the apps' admin modules share. Imports no domain app, so any app's
admin.py may use it without an import between apps.

- `ReadOnlyAdmin`: rows staff read and nobody changes by hand.
- `service_errors`: an application error from a service, turned into form errors or a message.
- `DocumentAdmin` over a `DocumentHandle`: admin pages for data kept outside SQL (the MongoDB
  catalog and reviews). The handle is a model without a table (`managed = False`): it gives
  the admin its URLs, its place on the index under its app, its history (LogEntry) and the
  four standard permissions (`<app>.view_<model>`, add, change, delete), which staff without
  superuser are granted like any other. The pages read through the app's selectors and write
  through its services, exactly as the API does.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_permission_codename
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.core.paginator import InvalidPage, Paginator
from django.db import models, router
from django.db.models.signals import post_migrate
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from ecommerce.api.exceptions import ApplicationError, NotFoundError


class ReadOnlyAdmin(admin.ModelAdmin):
    """Staff read these rows here; nobody adds, edits or deletes them by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def service_errors(error: ApplicationError, form: forms.Form | None = None) -> str:
    """Put a service's field errors on the form's fields (others on the form itself) and
    answer the error's message, for a page that shows it instead of a 500."""
    if form is not None:
        for name, problems in (error.details or {}).items():
            target = name if name in form.fields else None
            for problem in problems if isinstance(problems, list) else [problems]:
                form.add_error(target, str(problem))
        if not error.details:
            form.add_error(None, error.message)
    return error.message


# --- MongoDB documents in the admin -----------------------------------------------------------

_handles: list[type[models.Model]] = []


class DocumentHandle(models.Model):
    """A document as the admin's machinery sees it: its id, and its label for messages and history."""

    id = models.CharField(primary_key=True, max_length=64)

    class Meta:
        abstract = True
        managed = False

    label = ""
    document: Any = None

    def __str__(self) -> str:
        return self.label or self.pk


def document_handle(model: type[models.Model]) -> type[models.Model]:
    """Register a handle model, so its permissions exist in the database after `migrate`."""
    _handles.append(model)
    return model


def _create_handle_permissions(*, using="default", **kwargs) -> None:
    # Django creates permissions only for apps with a models module; the catalog and reviews
    # keep their data in MongoDB and have none, so their handles' permissions are made here.
    if not (router.allow_migrate_model(using, ContentType) and router.allow_migrate_model(using, Permission)):
        return
    ContentType.objects.clear_cache()
    for model in _handles:
        content_type = ContentType.objects.db_manager(using).get_for_model(model, for_concrete_model=False)
        for action in model._meta.default_permissions:
            Permission.objects.using(using).get_or_create(
                content_type=content_type,
                codename=get_permission_codename(action, model._meta),
                defaults={"name": f"Can {action} {model._meta.verbose_name_raw}"},
            )


post_migrate.connect(_create_handle_permissions, dispatch_uid="ecommerce.backoffice.kit.handle_permissions")


@dataclass(frozen=True)
class Column:
    """A list column: `render(document, page)`, where `page` is what `rows_prepare` fetched
    for the whole page (kept per request, never on the shared admin instance)."""

    title: str
    render: Callable[[Any, dict], Any]


@dataclass(frozen=True)
class DocumentFilter:
    """A sidebar filter: `parameter` in the query string, `choices` as (value, label)."""

    title: str
    parameter: str
    choices: Callable[[], Sequence[tuple[str, str]]]


@dataclass
class DocumentAction:
    name: str
    description: str
    run: Callable  # (request, ids) -> HttpResponse | None
    permission: str = "change"


class DocumentAdmin(admin.ModelAdmin):
    """The admin of one kind of document. Subclasses give:

    - `columns`, `filters`, `search_help_text`, `document_actions`, `form_class` (or `document_form`);
    - `document_get(id)` (None when unknown), `document_slice(request, search=, filters=)` (what
      the list pages through), `document_label(document)`, `form_initial(document)`,
      `rows_prepare(documents)` (what the columns of one page need, fetched at once);
    - `document_save(request, form, document)` and `document_delete(request, document)`, each
      calling the app's services (they raise ApplicationError, shown as form errors or messages);
    - `delete_summary(request, document)`: what goes with it, counts, what prevents the deletion.
    """

    change_list_template = "admin/documents/change_list.html"
    list_per_page = 25
    columns: list[Column] = []
    filters: list[DocumentFilter] = []
    document_actions: list[DocumentAction] = []
    form_class: type[forms.Form] = forms.Form
    add_fields: list[str] | None = None  # fields shown only when adding
    show_search = True
    actions = None

    # --- what subclasses give -------------------------------------------------------------

    def document_get(self, object_id: str):
        raise NotImplementedError

    def document_slice(self, request, *, search: str, filters: dict[str, str]):
        """A MongoSlice (count + pages) of the matching documents."""
        raise NotImplementedError

    def document_label(self, document) -> str:
        return str(document)

    def document_id(self, document) -> str:
        return document.id

    def form_initial(self, document) -> dict:
        return {}

    def document_form(self, request, data, initial: dict, document=None) -> forms.Form:
        """The form of a new document (`document` None) or of `document`."""
        return self.form_class(data, initial=initial)

    def document_save(self, request, form, document):
        raise NotImplementedError

    def document_delete(self, request, document) -> None:
        raise NotImplementedError

    def delete_summary(self, request, document) -> tuple[list, dict, list]:
        """(objects deleted with it, as nested lists of strings; counts by kind; protections)."""
        return [], {}, []

    def rows_prepare(self, documents: list) -> dict:
        """Fetch what the columns need for one page, in one round trip per store."""
        return {}

    # --- the admin's machinery ------------------------------------------------------------

    def handle(self, document):
        obj = self.model(pk=self.document_id(document))
        obj.label, obj.document = self.document_label(document), document
        return obj

    def get_object(self, request, object_id, from_field=None):
        document = self.document_get(object_id)
        return None if document is None else self.handle(document)

    def get_queryset(self, request):
        return self.model.objects.none()

    def has_perm(self, request, action: str) -> bool:
        codename = get_permission_codename(action, self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    def _filter_values(self, request) -> dict[str, str]:
        wanted = {f.parameter for f in self.filters}
        return {name: value for name, value in request.GET.items() if name in wanted and value}

    def _query(self, request, **changes) -> str:
        params = {name: value for name, value in request.GET.items() if name != "p"}
        for name, value in changes.items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = value
        return "?" + urlencode(params)

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method == "POST" and "action" in request.POST:
            response = self._run_action(request)
            if response is not None:
                return response
            return HttpResponseRedirect(request.get_full_path())
        search = request.GET.get("q", "").strip()
        chosen = self._filter_values(request)
        documents = self.document_slice(request, search=search, filters=chosen)
        paginator = Paginator(documents, self.list_per_page)
        try:
            page = paginator.page(request.GET.get("p") or 1)
        except InvalidPage:
            page = paginator.page(paginator.num_pages)
        items = list(page.object_list)
        prepared = self.rows_prepare(items)
        rows = [
            {
                "id": self.document_id(item),
                "url": reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[self.document_id(item)]
                ),
                "cells": [column.render(item, prepared) for column in self.columns],
            }
            for item in items
        ]
        filters = [
            {
                "title": f.title,
                "choices": [
                    {
                        "display": "All",
                        "selected": f.parameter not in chosen,
                        "query": self._query(request, **{f.parameter: None}),
                    }
                ]
                + [
                    {
                        "display": label,
                        "selected": chosen.get(f.parameter) == value,
                        "query": self._query(request, **{f.parameter: value}),
                    }
                    for value, label in f.choices()
                ],
            }
            for f in self.filters
        ]
        actions = [a for a in self.document_actions if self.has_perm(request, a.permission)]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Select {self.opts.verbose_name} to change"
            if self.has_change_permission(request)
            else f"Select {self.opts.verbose_name} to view",
            "subtitle": None,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "columns": [column.title for column in self.columns],
            "rows": rows,
            "page": page,
            "pages": [
                {"number": number, "query": self._query(request, p=number) if number != "…" else None}
                for number in paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
            ]
            if paginator.num_pages > 1
            else [],
            "count": paginator.count,
            "search": search,
            "show_search": self.show_search,
            "search_help_text": self.search_help_text,
            "search_hidden": {name: value for name, value in request.GET.items() if name not in ("q", "p")},
            "filters": filters,
            "actions": actions,
            "has_add_permission": self.has_add_permission(request),
            "add_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_add"),
            **self.changelist_extra(request),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.change_list_template, context)

    def changelist_extra(self, request) -> dict:
        return {}

    def _run_action(self, request):
        by_name = {a.name: a for a in self.document_actions}
        action = by_name.get(request.POST.get("action", ""))
        ids = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if action is None:
            self.message_user(request, "No action selected.", messages.WARNING)
            return None
        if not self.has_perm(request, action.permission):
            raise PermissionDenied
        if not ids:
            self.message_user(
                request,
                "Items must be selected in order to perform actions on them. No items have been changed.",
                messages.WARNING,
            )
            return None
        return action.run(request, ids)

    def _form_view(self, request, object_id=None, extra_context=None):
        add = object_id is None
        document = None
        if not add:
            document = self.document_get(unquote(object_id))
            if document is None:
                return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        obj = None if add else self.handle(document)
        if add and not self.has_add_permission(request):
            raise PermissionDenied
        if not add and not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        editable = self.has_add_permission(request) if add else self.has_change_permission(request, obj)
        initial = {} if add else self.form_initial(document)
        form = self.document_form(request, request.POST if request.method == "POST" else None, initial, document)
        if not add and self.add_fields:
            for name in self.add_fields:
                form.fields.pop(name, None)
        if not editable:
            for bound in form.fields.values():
                bound.disabled = True
        if request.method == "POST":
            if not editable:
                raise PermissionDenied
            if form.is_valid():
                try:
                    saved = self.document_save(request, form, document)
                except NotFoundError:
                    return self._get_obj_does_not_exist_redirect(request, self.opts, object_id or "")
                except ApplicationError as error:
                    service_errors(error, form)
                else:
                    new = self.handle(saved)
                    if add:
                        self.log_addition(request, new, [{"added": {}}])
                        return self.response_add(request, new)
                    labels = [str(form[name].label) for name in form.changed_data if name in form.fields]
                    self.log_change(request, new, [{"changed": {"fields": labels}}])
                    return self.response_change(request, new)
        fieldsets = [(None, {"fields": list(form.fields)})]
        admin_form = helpers.AdminForm(form, fieldsets, {}, model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": (f"Add {self.opts.verbose_name}" if add else f"Change {self.opts.verbose_name}")
            if editable
            else f"View {self.opts.verbose_name}",
            "subtitle": None if add else str(obj),
            "adminform": admin_form,
            "object_id": object_id,
            "original": obj,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            **(self.change_extra(request, document) if document is not None else {}),
            **(extra_context or {}),
        }
        return self.render_change_form(request, context, add=add, change=not add, obj=obj, form_url="")

    def change_extra(self, request, document) -> dict:
        return {}

    def add_view(self, request, form_url="", extra_context=None):
        return self._form_view(request, None, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self._form_view(request, object_id, extra_context)

    def get_deleted_objects(self, objs, request):
        (obj,) = objs
        deleted, counts, protected = self.delete_summary(request, obj.document)
        return [format_html("{}: {}", self.opts.verbose_name.capitalize(), str(obj)), deleted], counts, set(), protected

    def delete_model(self, request, obj):
        self.document_delete(request, obj.document)

    def delete_view(self, request, object_id, extra_context=None):
        # Django's own delete view wraps everything in a SQL transaction; here the writes are
        # in MongoDB and MySQL, so no PostgreSQL transaction may be held open around them.
        obj = self.get_object(request, unquote(object_id))
        if not self.has_delete_permission(request, obj):
            raise PermissionDenied
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        deleted_objects, model_count, _, protected = self.get_deleted_objects([obj], request)
        if request.method == "POST" and not protected:
            try:
                self.delete_model(request, obj)
            except NotFoundError:
                return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
                return HttpResponseRedirect(request.path)
            self.log_deletions(request, [obj])
            return self.response_delete(request, str(obj), obj.pk)
        object_name = str(self.opts.verbose_name)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Cannot delete {object_name}" if protected else "Delete",
            "subtitle": None,
            "object_name": object_name,
            "object": obj,
            "deleted_objects": deleted_objects,
            "model_count": dict(model_count).items(),
            "perms_lacking": set(),
            "protected": protected,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "preserved_filters": self.get_preserved_filters(request),
            "is_popup": False,
            "to_field": None,
            **(extra_context or {}),
        }
        return self.render_delete_form(request, context)

    def get_actions(self, request):
        return {}
