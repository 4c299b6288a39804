package genqlient_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/Khan/genqlient/graphql"
	"gopkg.in/yaml.v2"

	client "github.com/orgraph/orgraph/internal/clients/genqlient"
	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// TestGenqlientClientIsCurrentAndWorks keeps the README's genqlient settings
// working. It regenerates the client with the committed genqlient.yaml (only
// `generated` moved to a temporary file) and fails when that differs from
// the committed generated.go, so a schema change that breaks or changes the
// client is caught. Then it runs the committed client against a gateway on
// the simulator over HTTP: nullable fields are pointers (`optional:
// pointer`), so a missing user is nil and a null isSignupEnabled is nil, not
// false, and DateTime decodes into time.Time.
func TestGenqlientClientIsCurrentAndWorks(t *testing.T) {
	t.Run("generated.go is current", func(t *testing.T) {
		dir, err := filepath.Abs(".")
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile("genqlient.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		if err := yaml.Unmarshal(raw, &cfg); err != nil {
			t.Fatalf("genqlient.yaml: %v", err)
		}
		// genqlient resolves paths against the config file's directory, and
		// the copy lives in a temporary one: make the inputs absolute.
		schema, ok := cfg["schema"].(string)
		if !ok {
			t.Fatalf("genqlient.yaml: schema is not one path: %v", cfg["schema"])
		}
		cfg["schema"] = filepath.Join(dir, schema)
		ops, ok := cfg["operations"].([]any)
		if !ok {
			t.Fatalf("genqlient.yaml: operations is not a list: %v", cfg["operations"])
		}
		for i, op := range ops {
			ops[i] = filepath.Join(dir, op.(string))
		}
		committed, ok := cfg["generated"].(string)
		if !ok {
			t.Fatalf("genqlient.yaml: generated is not one path: %v", cfg["generated"])
		}
		tmp := t.TempDir()
		fresh := filepath.Join(tmp, "generated.go")
		cfg["generated"] = fresh
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		config := filepath.Join(tmp, "genqlient.yaml")
		if err := os.WriteFile(config, out, 0o644); err != nil {
			t.Fatal(err)
		}

		// `go tool` runs the genqlient version go.mod pins.
		cmd := exec.Command("go", "tool", "genqlient", config)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go tool genqlient: %v\n%s", err, out)
		}
		want, err := os.ReadFile(fresh)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, committed))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			diff, _ := exec.Command("diff", "-u", filepath.Join(dir, committed), fresh).CombinedOutput()
			t.Fatalf("%s is not what genqlient generates from genqlient.yaml, operations.graphql and the schema now: run `go tool genqlient` in %s and commit the result (fix operations.graphql first if it fails)\n%s", committed, dir, diff)
		}
	})

	t.Run("client against the gateway", func(t *testing.T) {
		gw, _ := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
		c := graphql.NewClient(gw.URL+"/graphql", http.DefaultClient)
		ctx := context.Background()

		user, err := client.UserWithOrganizations(ctx, c, upstreamsim.UserChuck938ID)
		if err != nil {
			t.Fatalf("UserWithOrganizations: %v", err)
		}
		u := user.GetUser()
		if u == nil || u.Id != upstreamsim.UserChuck938ID || u.Email == nil || *u.Email == "" {
			t.Fatalf("demo user: %+v", u)
		}
		orgs := map[string]client.UserWithOrganizationsUserOrganizationsOrganization{}
		for _, o := range u.Organizations {
			orgs[o.Name] = o
		}
		durmstrang, ok := orgs["durmstrang"]
		if !ok || durmstrang.Id != upstreamsim.OrgDurmstrangID {
			t.Fatalf("the demo user's organizations lack durmstrang: %+v", u.Organizations)
		}
		// Durmstrang's database connection has sign-up disabled: false, not nil.
		var sawFalse bool
		for _, cn := range durmstrang.Connections {
			if cn.Name == "Username-Password-Authentication" {
				sawFalse = cn.IsSignupEnabled != nil && !*cn.IsSignupEnabled
			}
		}
		if !sawFalse {
			t.Fatalf("durmstrang's database connection should have isSignupEnabled false: %+v", durmstrang.Connections)
		}
		// Hogwarts' Okta connection does not say: nil, not false.
		hogwarts, ok := orgs["hogwarts"]
		if !ok {
			t.Fatalf("the demo user's organizations lack hogwarts: %+v", u.Organizations)
		}
		var sawNil bool
		for _, cn := range hogwarts.Connections {
			if cn.Name == "hogwarts-okta" {
				sawNil = cn.IsSignupEnabled == nil
			}
		}
		if !sawNil {
			t.Fatalf("hogwarts-okta should have isSignupEnabled null (nil): %+v", hogwarts.Connections)
		}
		// DateTime is bound to time.Time.
		var groups int
		for _, o := range u.Organizations {
			for _, g := range o.Groups {
				groups++
				if g.CreationTime == nil || g.CreationTime.IsZero() {
					t.Fatalf("group %s of %s has no creationTime: %+v", g.Name, o.Name, g)
				}
			}
		}
		if groups == 0 {
			t.Fatalf("the demo user's organizations have no groups: %+v", u.Organizations)
		}

		missing, err := client.UserWithOrganizations(ctx, c, "auth0|nobody")
		if err != nil {
			t.Fatalf("UserWithOrganizations(missing): %v", err)
		}
		if missing.GetUser() != nil {
			t.Fatalf("a missing user should be nil, got %+v", *missing.GetUser())
		}

		org, err := client.OrganizationByName(ctx, c, "durmstrang")
		if err != nil {
			t.Fatalf("OrganizationByName: %v", err)
		}
		o := org.GetOrganizationByName()
		if o == nil || o.Id != upstreamsim.OrgDurmstrangID || o.DisplayName == nil || *o.DisplayName != "Durmstrang Institute" || len(o.Connections) == 0 {
			t.Fatalf("durmstrang: %+v", o)
		}
		none, err := client.OrganizationByName(ctx, c, "no-such-org")
		if err != nil {
			t.Fatalf("OrganizationByName(missing): %v", err)
		}
		if none.GetOrganizationByName() != nil {
			t.Fatalf("a missing organization should be nil, got %+v", *none.GetOrganizationByName())
		}
	})
}
