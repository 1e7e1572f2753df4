"""The back office's forms for the catalog. They check the shape of what staff type (the same
bounds as the API's serializers); what needs the stores (a taken SKU or slug, a category
that would become its own ancestor, one in use) is the services' answer, shown on the form."""

from decimal import Decimal

from django import forms

from catalog.serializers import DESCRIPTION_MAX, MAX_PRICE, NAME_MAX, SKU_MAX, TAG_MAX, TAGS_MAX
from inventory.services import MAX_STOCK


class ProductForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX)
    sku = forms.CharField(label="SKU", max_length=SKU_MAX, required=False, help_text="Unique; leave empty for none.")
    price = forms.DecimalField(max_digits=9, decimal_places=2, min_value=Decimal("0.01"), max_value=MAX_PRICE)
    category = forms.ChoiceField(required=False)
    description = forms.CharField(max_length=DESCRIPTION_MAX, required=False, widget=forms.Textarea(attrs={"rows": 4}))
    tags = forms.CharField(required=False, help_text="Separated by commas.")
    is_active = forms.BooleanField(label="Active (for sale)", required=False, initial=True)
    initial_stock = forms.IntegerField(min_value=0, max_value=MAX_STOCK, initial=0, help_text="Units in stock.")

    def __init__(self, *args, categories: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "---------"), *categories]

    def clean_tags(self) -> list[str]:
        tags = [tag.strip() for tag in self.cleaned_data["tags"].split(",") if tag.strip()]
        if len(tags) > TAGS_MAX:
            raise forms.ValidationError(f"At most {TAGS_MAX} tags.")
        if any(len(tag) > TAG_MAX for tag in tags):
            raise forms.ValidationError(f"Each tag has at most {TAG_MAX} characters.")
        return list(dict.fromkeys(tags))


class CategoryForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX)
    slug = forms.SlugField(max_length=200, required=False, help_text="Derived from the name when empty.")
    parent = forms.ChoiceField(required=False, help_text="Empty for a top-level category.")
    description = forms.CharField(max_length=DESCRIPTION_MAX, required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, categories: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [("", "--------- (top level)"), *categories]


class RestockForm(forms.Form):
    """The intermediate page of the inventory list's "Restock" action."""

    quantity = forms.IntegerField(min_value=1, max_value=MAX_STOCK, label="Units to add to each")
