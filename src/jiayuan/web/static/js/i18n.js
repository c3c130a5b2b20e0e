// The texts the scripts write, in the page's language: `t("已断开")`, `t("共 {n} 条", {n: 3})`.
// A page not in Chinese carries its translations as JSON (#jy-i18n); a text without one stays Chinese.
(() => {
  let catalog = null;
  window.t = (text, params) => {
    if (catalog === null) {
      const data = document.getElementById("jy-i18n");
      catalog = data ? JSON.parse(data.textContent) : {};
    }
    const translated = catalog[text] || text;
    return params ? translated.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole)) : translated;
  };
})();
