from django.urls import path

from safeguarding import views

app_name = "safeguarding"

urlpatterns = [
    path("", views.board, name="board"),
    path("victims/<int:pk>/plan/", views.plan_edit, name="plan"),
    path("victims/<int:pk>/contacts/new/", views.contact_new, name="contact-new"),
    path("victims/<int:pk>/relocations/new/", views.relocation_new, name="relocation-new"),
    path("victims/<int:pk>/missing/new/", views.missing_new, name="missing-new"),
    path("missing/<int:pk>/found/", views.missing_found, name="missing-found"),
]
