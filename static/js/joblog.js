// A job's own log on its page: the kept lines first, then each line as it is pushed (`log`).

import { jobLogs } from "./control.js";
import { formatTime } from "./format.js";
import { make } from "./dom.js";

export class JobLog {
  /** Show the log of `jobId` in the list element `list`, with `empty` shown while it has none. */
  constructor(jobId, list, empty) {
    this.jobId = jobId;
    this.list = list;
    this.empty = empty;
    this.last = 0; // the seq of the last line shown
    this.early = null; // lines pushed before the kept ones were read, drawn after them
  }

  /** Follow the job's pushed lines on the page's socket. */
  follow(socket) {
    this.early = [];
    socket.on("log", (event) => {
      if (!event || event.id !== this.jobId) return;
      if (this.early) this.early.push(...(event.lines || []));
      else this.add(event.lines || []);
    });
  }

  /** Read the lines the page missed (all of them at first, or while it was offline). */
  async catchUp() {
    try {
      const { lines } = await jobLogs(this.jobId, this.last);
      this.add(lines);
    } catch {
      // The next reconnection tries again; pushed lines still come.
    }
    if (this.early) {
      const early = this.early;
      this.early = null;
      this.add(early);
    }
  }

  /** Add lines not shown yet, in order; a line's text is only ever set as text. */
  add(lines) {
    const fresh = lines.filter((line) => line.seq > this.last).sort((a, b) => a.seq - b.seq);
    for (const line of fresh) {
      const item = make("li", "log-line");
      item.dataset.level = line.level;
      const time = make("time", "hint", formatTime(line.ts));
      time.dateTime = line.ts;
      item.append(time, make("span", "log-message", line.message));
      this.list.append(item);
      this.last = line.seq;
    }
    this.empty.hidden = this.list.childElementCount > 0;
  }
}
