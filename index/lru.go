package index

import "container/list"

// lru holds values by key up to max bytes by their sizes, the least
// recently used going first; a value of more than a 16th of max is not
// kept. Not safe for concurrent use: its owner locks.
type lru[K comparable, V any] struct {
	max, size int
	bytes     func(V) int
	m         map[K]*list.Element
	order     list.List // of *lruItem, most recently used first
}

type lruItem[K comparable, V any] struct {
	key K
	val V
}

func newLRU[K comparable, V any](max int, bytes func(V) int) *lru[K, V] {
	return &lru[K, V]{max: max, bytes: bytes, m: map[K]*list.Element{}}
}

// get returns the value of k, now the most recently used.
func (c *lru[K, V]) get(k K) (v V, ok bool) {
	el := c.m[k]
	if el == nil {
		return v, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruItem[K, V]).val, true
}

// put keeps v as the value of k, dropping the least recently used values
// past max.
func (c *lru[K, V]) put(k K, v V) {
	n := c.bytes(v)
	if n > c.max/16 {
		return
	}
	if el := c.m[k]; el != nil {
		c.remove(el)
	}
	c.m[k] = c.order.PushFront(&lruItem[K, V]{key: k, val: v})
	c.size += n
	for c.size > c.max {
		c.remove(c.order.Back())
	}
}

func (c *lru[K, V]) remove(el *list.Element) {
	it := c.order.Remove(el).(*lruItem[K, V])
	delete(c.m, it.key)
	c.size -= c.bytes(it.val)
}

// reset drops every value.
func (c *lru[K, V]) reset() {
	clear(c.m)
	c.order.Init()
	c.size = 0
}
