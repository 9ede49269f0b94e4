"""The built-in emulations of Consonance and Exstream, served over real HTTP under /sandbox/."""

urlpatterns: list = []
