// The worker's run events (docs/JSON.md) applied to the run on screen: its records, its
// summary and status, stored after every change, and the views that show them.

import { state, persist } from './state.js';
import { redraw, refreshItemPicker, showEngine, showNotice, showProgress, showsItem, transcript } from './views.js';
import { summedTime, recordRound } from './timing.js';

export function onEvent(event) {
  const { current } = state;
  if (!current) return;
  switch (event.type) {
    case 'header':
      current.header = event.header;
      break;
    case 'item_started':
      current.partial = event.record;
      transcript.clear(event.record.query);
      refreshItemPicker(event.index);
      break;
    case 'token':
    case 'sample':
      if (showsItem(event.index)) summedTime('transcript', () => transcript.token(event));
      break;
    case 'backend':
      showEngine({ backend: event.backend, device: event.device });
      showNotice(event.reason);
      if (showsItem(event.index)) transcript.restartUnfinished();
      break;
    case 'round':
      current.partial?.rounds.push(event.record);
      if (showsItem(event.index)) summedTime('transcript', () => transcript.round(event.record));
      persist();
      break;
    case 'timing':
      recordRound(event.ms);
      break;
    case 'item':
      current.items.push(event.record);
      current.partial = null;
      persist();
      break;
    case 'summary':
      current.summary = event.summary;
      redraw();
      break;
    case 'progress':
      showProgress(event);
      break;
    case 'finished':
      current.status = event.cancelled ? 'cancelled' : 'done';
      persist();
      break;
    case 'error':
      current.status = 'error';
      current.error = event.message;
      persist();
      break;
    default:
      break;
  }
}
