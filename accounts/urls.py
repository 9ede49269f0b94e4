from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.home, name="home"),
    path("imprint/switch/", views.switch_imprint, name="switch_imprint"),
    path("audit/", views.audit_log, name="audit_log"),
]
