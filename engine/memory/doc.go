// Package memory is Rogue's memory interface (rogue.interfaces.memory) in
// Go's idiom: register and memory transactions between a Master, which
// starts them, and a Slave, which carries them out, possibly through Hubs.
//
// A Transaction has an id, an address, a type (Read, Write, Post, Verify),
// its data (a slice of a pooled buffer, len = size), an error and a
// timeout. A Master takes one from its pool (Acquire), starts it (Start),
// waits for it (Wait) and gives it back (Release); Read, Write, Post and
// Verify do the four steps for one call. Many transactions may be in
// flight at once, each with its own deadline.
//
// # Contract between a transaction and a slave
//
// A Slave's DoTransaction either completes the transaction before it
// returns (Complete), or keeps it and completes it later from any
// goroutine: it notes the id, claims the transaction with Claim(id) before
// touching its data, and ends it with Finish. Claim fails once the
// transaction has ended another way (its timeout, Close, Release), so a
// late answer never writes into a buffer that has moved on. A slave that
// keeps transactions in a table registers a Tracker (Track) and is told
// when one of them ends without it.
//
// Completion is exactly once: the response, the timeout, the master's
// Close and Release race for it, and the first one wins.
//
// # Differences from Rogue
//
//   - Errors are Go errors that carry Rogue's text and match a sentinel
//     (ErrTimeout, ErrClosed, ...) through errors.Is; Master.Error is the
//     sticky last error, as Rogue's getError.
//   - The timeout is armed when DoTransaction returns, as in Rogue, but a
//     completed transaction does not re-arm the others.
//   - Emulate's pages are zeroed on first touch (Rogue's are uninitialised).
//   - A Hub restores nothing: like Rogue's, it adds its offset to the
//     address in place.
package memory
