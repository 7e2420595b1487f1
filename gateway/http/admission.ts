import type { Interceptor } from './pipeline.ts';

/** What admission control offers the pipeline (overload/guard.ts `OverloadGuard`). */
export interface PollAdmission {
  /** Throws 503 OVERLOADED while the event loop lags. */
  admitPoll(): void;
}

/**
 * The load-shedding step: a request to a route that sheds (`shedWhenLagging`, the poll) is
 * refused while the event loop lags. Streams are admitted by their handler, after their
 * request is validated (only a valid request counts against the stream caps).
 */
export function admission(guard: PollAdmission): Interceptor {
  return (next) => (ex) => {
    if (ex.served && ex.route?.shedWhenLagging === true) guard.admitPoll();
    next(ex);
  };
}
