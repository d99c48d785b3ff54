from django.http import HttpResponse
from django.shortcuts import render


def index(request):
    return render(request, 'polls/index.html', {'title': 'Django Runserver sample'})


def hello(request):
    return HttpResponse('hello from the view')
