from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from slaverycases.accounts.models import Force, Unit, User


@admin.register(Force)
class ForceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_national"]
    search_fields = ["code", "name"]
    readonly_fields = ["group"]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["name", "force"]
    list_filter = ["force"]
    search_fields = ["name"]
    readonly_fields = ["group"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "force", "unit", "is_active"]
    list_filter = ["force", "is_active", "groups"]
    list_select_related = ["force", "unit"]
    fieldsets = (*BaseUserAdmin.fieldsets, ("Force and unit", {"fields": ("force", "unit")}))
