// A minimal terminal screen: applies the output of a view (text, \n, \r, cursor-up, clear-to-end)
// so tests can read what a user would see after in-place redraws.

export class Screen {
  lines: string[] = [""];
  row = 0;
  column = 0;

  write(text: string): void {
    const tokens = text.match(/\x1b\[[0-9;?]*[A-Za-z]|\n|\r|[^\x1b\n\r]+/g) ?? [];
    for (const token of tokens) {
      if (token === "\n") {
        this.row += 1;
        this.column = 0;
        if (this.lines.length <= this.row) this.lines.push("");
      } else if (token === "\r") {
        this.column = 0;
      } else if (token.startsWith("\x1b[")) {
        this.control(token);
      } else {
        const characters = Array.from(token);
        const line = Array.from(this.lines[this.row]);
        while (line.length < this.column) line.push(" ");
        line.splice(this.column, characters.length, ...characters);
        this.lines[this.row] = line.join("");
        this.column += characters.length;
      }
    }
  }

  /** What is on screen, without the empty line the cursor rests on. */
  text(): string[] {
    const visible = [...this.lines];
    while (visible.length > 0 && visible[visible.length - 1] === "") visible.pop();
    return visible;
  }

  private control(sequence: string): void {
    const command = sequence[sequence.length - 1];
    const count = Number(sequence.slice(2, -1) || "1");
    if (command === "A") {
      this.row = Math.max(0, this.row - count);
    } else if (command === "J") {
      this.lines[this.row] = Array.from(this.lines[this.row]).slice(0, this.column).join("");
      this.lines.length = this.row + 1;
    } else if (command !== "m") {
      throw new Error(`the test screen does not understand ${JSON.stringify(sequence)}`);
    }
  }
}
