from django.db import models


class Widget(models.Model):
    name = models.CharField(max_length=50)
    note = models.CharField(max_length=50, null=True, db_index=True)

    def __str__(self) -> str:
        return self.name
