document.querySelectorAll("#roster th a").forEach(function (link) {
  link.addEventListener("click", function (event) {
    event.preventDefault();
    var column = Number(link.dataset.column), numeric = link.dataset.numeric === "1";
    var body = document.querySelector("#roster tbody");
    var descending = link.dataset.order !== "desc";
    link.dataset.order = descending ? "desc" : "asc";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[column].dataset.sort, y = b.cells[column].dataset.sort;
      var order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
