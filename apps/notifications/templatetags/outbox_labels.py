from django import template

from apps.notifications.labels import template_label

register = template.Library()

register.filter("email_template_label", template_label)
