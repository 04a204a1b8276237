"""The live layer of the web floor: the project page's websocket, each
server's hub that renders an event once and delivers it to every open page
and event stream, and the fragments they send."""
