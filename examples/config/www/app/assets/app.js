// A single-page app routes in the browser: /app/users/42 is served index.html (spa: true).
document.getElementById("app").textContent = "You are at " + location.pathname;
