// A diff as diff2html draws it, syntax-highlighted by highlight.js. Loaded on first use.
import { Diff2HtmlUI } from "diff2html/lib-esm/ui/js/diff2html-ui-base.js";
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import cpp from "highlight.js/lib/languages/cpp";
import ini from "highlight.js/lib/languages/ini";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import markdown from "highlight.js/lib/languages/markdown";
import plaintext from "highlight.js/lib/languages/plaintext";
import python from "highlight.js/lib/languages/python";
import rust from "highlight.js/lib/languages/rust";
import typescript from "highlight.js/lib/languages/typescript";
import yaml from "highlight.js/lib/languages/yaml";

// The languages research code is usually written in; others show as plain text.
for (const [name, language] of Object.entries({ bash, cpp, ini, javascript, json, markdown, plaintext, python, rust, typescript, yaml })) hljs.registerLanguage(name, language);

export function renderDiff(target: HTMLElement, diff: string): void {
  const ui = new Diff2HtmlUI(target, diff, {
    drawFileList: false, outputFormat: "line-by-line", matching: "lines", highlight: true,
    synchronisedScroll: false, fileContentToggle: false, stickyFileHeaders: false, fileListToggle: false,
  }, hljs);
  ui.draw();
}
