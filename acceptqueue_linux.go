package mpconn

// tryPush adds a result if the queue has room and is open, without
// waiting.
func (q *acceptQueue) tryPush(a accepted) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || len(q.items) >= maxQueued {
		return false
	}
	q.items = append(q.items, a)
	q.signal()
	return true
}
