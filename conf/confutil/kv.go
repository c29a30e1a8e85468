package confutil

import "strings"

// KV is a "key SEP value" line split so that Lead+Key+Sep+Value+Trail
// reproduces it. Sep is a run of characters accepted by isSep; Value runs to
// the end of the line minus trailing spaces and tabs (Trail). When there is
// no value, Sep holds everything after the key and Trail is empty.
type KV struct {
	Lead, Key, Sep, Value, Trail string
}

// SplitKV splits s into a key and a value. The key ends at the first
// character accepted by isSep.
func SplitKV(s string, isSep func(byte) bool) KV {
	var kv KV
	i := 0
	for i < len(s) && IsSpace(s[i]) {
		i++
	}
	kv.Lead = s[:i]
	j := i
	for j < len(s) && !isSep(s[j]) {
		j++
	}
	kv.Key = s[i:j]
	k := j
	for k < len(s) && isSep(s[k]) {
		k++
	}
	rest := s[k:]
	v := strings.TrimRight(rest, " \t")
	if v == "" {
		// No value: the whole run after the key is the separator, so
		// setting a value later gives "key=VALUE" or "key VALUE".
		kv.Sep = s[j:k]
		return kv
	}
	kv.Sep = s[j:k]
	kv.Value = v
	kv.Trail = rest[len(v):]
	return kv
}

// String renders kv.
func (kv KV) String() string {
	return kv.Lead + kv.Key + kv.Sep + kv.Value + kv.Trail
}
