package server_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// These helpers render the simulator's data the way the schema should, so a
// test compares the gateway's answer with what the REST calls return, field
// for field.

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func wantOrganization(ds *upstreamsim.Dataset, o upstreamsim.Organization, withEdges bool) map[string]any {
	m := map[string]any{
		"id":          o.ID,
		"name":        o.Name,
		"displayName": orNull(o.DisplayName),
		"branding":    nil,
	}
	if o.Branding != nil {
		b := map[string]any{"logoUrl": orNull(o.Branding.LogoURL), "colors": nil}
		if c := o.Branding.Colors; c != nil {
			b["colors"] = map[string]any{"primary": c.Primary, "pageBackground": c.PageBackground}
		}
		m["branding"] = b
	}
	keys := make([]string, 0, len(o.Metadata))
	for k := range o.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	meta := []any{}
	for _, k := range keys {
		meta = append(meta, map[string]any{"key": k, "value": o.Metadata[k]})
	}
	m["metadata"] = meta
	if !withEdges {
		return m
	}
	conns := []any{}
	for _, c := range ds.Connections[o.ID] {
		conns = append(conns, map[string]any{
			"id":                      o.ID + ":" + c.ConnectionID,
			"connectionId":            c.ConnectionID,
			"organizationId":          o.ID,
			"name":                    c.Connection.Name,
			"strategy":                c.Connection.Strategy,
			"assignMembershipOnLogin": c.AssignMembershipOnLogin,
			"showAsButton":            boolOrNull(c.ShowAsButton),
			"isSignupEnabled":         boolOrNull(c.IsSignupEnabled),
		})
	}
	m["connections"] = conns
	groups := []any{}
	if pid := o.Metadata[upstreamsim.MetadataPartitionKey]; pid != "" {
		for _, g := range ds.Groups[pid] {
			groups = append(groups, wantGroup(pid, g))
		}
	}
	m["groups"] = groups
	return m
}

func boolOrNull(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

// wantGroup renders a group of partition pid (a lower-case GUID).
func wantGroup(pid string, g upstreamsim.Group) map[string]any {
	types := map[int]any{0: "BUILT_IN", 1: "CUSTOM"}
	members := []any{}
	for _, mb := range g.Members {
		members = append(members, wantMember(mb))
	}
	return map[string]any{
		"id":                   pid + ":" + g.ID,
		"groupId":              g.ID,
		"partitionGlobalId":    pid,
		"name":                 g.Name,
		"displayName":          orNull(g.DisplayName),
		"type":                 types[g.Type],
		"creationTime":         rfc3339(g.CreationTime),
		"lastModificationTime": rfc3339(g.LastModificationTime),
		"members":              members,
	}
}

// wantMember renders a member by round-tripping the simulator's own wire JSON,
// so nulls the upstream sends stay null.
func wantMember(mb upstreamsim.GroupMember) map[string]any {
	raw, _ := json.Marshal(mb)
	var wire map[string]any
	_ = json.Unmarshal(raw, &wire)
	out := map[string]any{}
	for _, f := range []string{"identifier", "objectType", "name", "firstName", "lastName", "displayName", "email", "source", "jobTitle", "companyName", "city", "department"} {
		out[f] = wire[f]
	}
	return out
}

// rfc3339 converts the upstream's offset-less local time to the schema's UTC form.
func rfc3339(wire string) any {
	if wire == "" {
		return nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.9999999", wire, time.UTC)
	if err != nil {
		panic(err)
	}
	return t.Format(time.RFC3339Nano)
}

const organizationFields = `id name displayName branding { logoUrl colors { primary pageBackground } } metadata { key value }`
const organizationWithEdges = organizationFields + ` connections { id connectionId organizationId name strategy assignMembershipOnLogin showAsButton isSignupEnabled }
 groups { id groupId partitionGlobalId name displayName type creationTime lastModificationTime
   members { identifier objectType name firstName lastName displayName email source jobTitle companyName city department } }`

// assertJSON compares got (raw JSON) with want after normalising both.
func assertJSON(t *testing.T, got json.RawMessage, want any) {
	t.Helper()
	var g any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("decode: %v", err)
	}
	raw, _ := json.Marshal(want)
	var w any
	_ = json.Unmarshal(raw, &w)
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.MarshalIndent(g, "", " ")
		wj, _ := json.MarshalIndent(w, "", " ")
		t.Fatalf("mismatch\n got: %s\nwant: %s", gj, wj)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
