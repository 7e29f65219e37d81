// Command flask-port is the Go port of the Adobe Target Python SDK's Flask
// sample app (samples/app.py in adobe/target-python-sdk): a small web server
// that shows server-side Target integration with synchronous, callback and
// future-style calls, now on targetflow's target.Client.
//
// It answers the sample's endpoints with the same query parameters, cookies
// and JSON:
//
//	GET  /executePageLoad (also /executePageload)    execute the page load
//	GET  /executeMbox?mbox=a,b                       execute mboxes
//	GET  /prefetchMbox?mbox=a&prefetch=b,c            execute and prefetch
//	GET  /prefetchView?view=home,cart[&async=true]    prefetch views (callback path)
//	GET  /prefetchViewAsyncio?view=...[&async=true]   prefetch views (future path)
//	POST /sendNotifications                           display notifications
//
// and, beyond the sample, GET / (an HTML page that calls the endpoints and
// shows offers, cookies and timings) and GET /page?mbox=...&view=...&prefetch=...
// (a rendered page whose Target call runs in parallel with simulated server
// work, with a Server-Timing header and its waterfall drawn in SVG, the
// offers in place, and the visitorState and serverState handed to
// VisitorAPI.js and at.js in its one script). Every endpoint passes the
// visitor's AMCV_ cookie (Experience Cloud ID) on to Target.
//
// By default it runs offline: on-device decisioning from the bundled demo
// artifact, and an embedded local Delivery API edge on loopback for
// notifications and remote decisions. See README.md for flags and curl
// commands.
package main
