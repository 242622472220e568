from django.urls import path

from victims import views

app_name = "victims"

urlpatterns = [
    path("<int:pk>/", views.victim_detail, name="detail"),
    path("<int:pk>/edit/", views.victim_edit, name="edit"),
]
