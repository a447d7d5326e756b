/* KA2 chat widget: the bot's markdown subset rendered safely.
 * Bot text is never parsed as HTML: every piece becomes a text node, then **bold**, "- " and
 * "1. " lists and https links are rebuilt with DOM methods. Links open in a new tab, safely.
 */
(function (global) {
  "use strict";

  var INLINE = /\*\*(.+?)\*\*|\[([^\]\n]+)\]\((https:\/\/[^\s()<>"]+)\)|(https:\/\/[^\s<>"]+)/g;
  var TRAILING = /[.,;:!?)\]»]+$/;

  function link(href, label) {
    var a = document.createElement("a");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.appendChild(document.createTextNode(label));
    var hint = document.createElement("span");
    hint.className = "ka2-visually-hidden";
    hint.textContent = " (nouvel onglet)";
    a.appendChild(hint);
    return a;
  }

  function inline(text, parent) {
    var last = 0;
    text.replace(INLINE, function (match, bold, label, href, bare, offset) {
      parent.appendChild(document.createTextNode(text.slice(last, offset)));
      last = offset + match.length;
      if (bold !== undefined) {
        var strong = document.createElement("strong");
        inline(bold, strong);
        parent.appendChild(strong);
      } else if (href !== undefined) {
        parent.appendChild(link(href, label));
      } else {
        var tail = (bare.match(TRAILING) || [""])[0];
        var url = bare.slice(0, bare.length - tail.length);
        parent.appendChild(link(url, url));
        last -= tail.length;
      }
      return match;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
    return parent;
  }

  function render(text) {
    var fragment = document.createDocumentFragment();
    var list = null;
    var paragraph = null;
    String(text || "").split("\n").forEach(function (line) {
      var bullet = /^\s*[-*•] (.*)$/.exec(line);
      var numbered = /^\s*(\d+)[.)] (.*)$/.exec(line);
      if (bullet || numbered) {
        var tag = bullet ? "ul" : "ol";
        if (!list || list.tagName.toLowerCase() !== tag) {
          list = fragment.appendChild(document.createElement(tag));
          if (numbered) list.start = parseInt(numbered[1], 10);
        }
        paragraph = null;
        list.appendChild(inline(bullet ? bullet[1] : numbered[2], document.createElement("li")));
      } else if (!line.trim()) {
        list = paragraph = null;
      } else {
        list = null;
        if (paragraph) paragraph.appendChild(document.createElement("br"));
        else paragraph = fragment.appendChild(document.createElement("p"));
        inline(line, paragraph);
      }
    });
    return fragment;
  }

  global.KA2ChatMarkdown = { render: render };
})(window);
