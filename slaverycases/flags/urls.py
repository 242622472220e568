from django.urls import path

from slaverycases.flags import views

app_name = "flags"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/", views.flag_detail, name="detail"),
]
