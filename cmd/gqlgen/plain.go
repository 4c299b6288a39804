package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"go/types"
	"sort"
	"strings"

	"github.com/99designs/gqlgen/codegen"
	"github.com/99designs/gqlgen/codegen/config"
	"github.com/vektah/gqlparser/v2/ast"
)

// A plain type is an object type whose every field gqlgen would resolve by
// reading a struct field or calling a method that takes nothing and cannot
// fail, with no directive and no argument, and whose values are scalars,
// enums, or plain objects and lists of them that cannot be null where the
// schema says non-null. Nothing under such an object can wait, fail, need a
// path for an error or be seen by a field middleware, so its JSON can be
// written straight from the selection.
type plainType struct {
	obj    *codegen.Object
	goType types.Type // the model type; writers take a pointer to it
	fields []plainField
}

// plainField is one field and the Go statement that writes its value.
type plainField struct {
	name  string
	write string // statements, with obj the object and w the writer
}

// plainTypes finds the plain types among objects and prepares their writers.
func plainTypes(objects codegen.Objects) []*plainType {
	byName := make(map[string]*codegen.Object, len(objects))
	for _, o := range objects {
		byName[o.Name] = o
	}
	memo := make(map[string]bool)
	var isPlain func(name string) bool
	isPlain = func(name string) bool {
		if v, ok := memo[name]; ok {
			return v
		}
		memo[name] = false // a type on its own path is not plain (cycles)
		o := byName[name]
		ok := o != nil && plainObject(o, isPlain)
		memo[name] = ok
		return ok
	}
	var out []*plainType
	for _, o := range objects {
		if !isPlain(o.Name) {
			continue
		}
		pt := &plainType{obj: o, goType: o.Type}
		for _, f := range o.Fields {
			pt.fields = append(pt.fields, plainField{name: f.Name, write: writeStatement(f, isPlain)})
		}
		out = append(out, pt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].obj.Name < out[j].obj.Name })
	return out
}

func plainObject(o *codegen.Object, isPlain func(string) bool) bool {
	if o.Root || strings.HasPrefix(o.Name, "__") || len(o.Directives) > 0 || o.Type == nil {
		return false
	}
	if _, isNamed := o.Type.(*types.Named); !isNamed {
		return false
	}
	for _, f := range o.Fields {
		if !plainRead(f) || !plainValue(f.TypeReference, isPlain) {
			return false
		}
	}
	return true
}

// plainRead reports whether gqlgen resolves f by reading a struct field or
// calling a method that takes nothing and cannot fail, with no directive,
// no argument and nothing a field middleware could need.
func plainRead(f *codegen.Field) bool {
	if f.IsResolver || f.IsConcurrent() || f.IsBatch() || f.Stream || len(f.Args) > 0 || len(f.Directives) > 0 ||
		f.HasHaser || f.VOkFunc || f.GoFieldType == codegen.GoFieldMap || f.GoFieldName == "" ||
		f.TypeReference == nil || f.TypeReference.IsOmittable {
		return false
	}
	return !f.IsMethod() || (f.NoErr && !f.MethodHasContext)
}

// directField is a field of any object that gqlgen would resolve through its
// whole field machinery only to read a string or a boolean.
type directField struct {
	object, field string
	value         string // the marshal.*Value expression
}

// directFields finds them, outside the root and introspection types.
func directFields(objects codegen.Objects) []directField {
	var out []directField
	for _, o := range objects {
		if o.Root || strings.HasPrefix(o.Name, "__") {
			continue
		}
		for _, f := range o.Fields {
			if !plainRead(f) || f.TypeReference.GQL.Elem != nil {
				continue
			}
			fn := direct(f.TypeReference)
			if fn == "" {
				continue
			}
			expr := "obj." + f.GoFieldName
			if f.IsMethod() {
				expr += "()"
			}
			out = append(out, directField{object: o.Name, field: f.Name, value: fmt.Sprintf("%sValue(%s)", fn, expr)})
		}
	}
	return out
}

// rewriteDirectFields has each object marshaller take a direct field's value
// as it is, instead of calling gqlgen's field resolver for it. Every field
// must be found, or gqlgen's output changed shape.
func rewriteDirectFields(src []byte, fields []directField) ([]byte, error) {
	s := string(src)
	for _, f := range fields {
		call := fmt.Sprintf("out.Values[i] = ec._%s_%s(ctx, field, obj)\n", f.object, f.field)
		if strings.Count(s, call) != 1 {
			return nil, fmt.Errorf("field %s.%s: %d calls of its resolver in the executor, want 1: gqlgen changed, check cmd/gqlgen",
				f.object, f.field, strings.Count(s, call))
		}
		s = strings.Replace(s, call, "out.Values[i] = "+f.value+"\n", 1)
	}
	return []byte(s), nil
}

// rewriteDeferred has every object marshaller make its deferred group only
// when a field of it is deferred (marshal.Deferred).
func rewriteDeferred(src []byte) ([]byte, error) {
	const call = "deferred := graphql.NewDeferredGroup(ctx)\n"
	s := string(src)
	if !strings.Contains(s, call) {
		return nil, errors.New("no graphql.NewDeferredGroup in the executor: gqlgen changed, check cmd/gqlgen")
	}
	return []byte(strings.ReplaceAll(s, call, "deferred := marshal.Deferred(ctx, fields)\n")), nil
}

// plainValue reports whether values of ref can be written without gqlgen's
// checks: never null where the schema says non-null, and plain below.
func plainValue(ref *config.TypeReference, isPlain func(string) bool) bool {
	if ref.GQL.Elem != nil { // a list
		slice, ok := ref.GO.(*types.Slice)
		if !ok {
			return false
		}
		elem := ref.Elem()
		if elem == nil || elem.GQL.Elem != nil {
			return false // lists of lists: gqlgen's way
		}
		if elem.Definition.Kind == ast.Object {
			_, isPtr := slice.Elem().(*types.Pointer)
			return !isPtr && isPlain(elem.Definition.Name)
		}
		return scalarOK(elem)
	}
	switch ref.Definition.Kind {
	case ast.Object:
		if _, isPtr := ref.GO.(*types.Pointer); isPtr && ref.GQL.NonNull {
			return false
		}
		return isPlain(ref.Definition.Name)
	case ast.Scalar, ast.Enum:
		return scalarOK(ref)
	}
	return false
}

// scalarOK: a scalar or enum written by String/Bool, or by gqlgen's own
// marshal function where the schema allows null (a custom marshaller may
// answer null, which a non-null field must turn into an error).
func scalarOK(ref *config.TypeReference) bool {
	if ref.Definition.Kind != ast.Scalar && ref.Definition.Kind != ast.Enum {
		return false
	}
	if direct(ref) != "" {
		return true
	}
	return !ref.GQL.NonNull
}

// direct names the marshal function that writes a value of ref with no
// allocation, or "" when gqlgen's own marshal function must.
func direct(ref *config.TypeReference) string {
	goType := types.TypeString(ref.GO, nil)
	switch ref.Definition.Name {
	case "String", "ID":
		switch {
		case goType == "string":
			return "marshal.String"
		case goType == "*string" && !ref.GQL.NonNull:
			return "marshal.StringPtr"
		}
	case "Boolean":
		switch {
		case goType == "bool":
			return "marshal.Bool"
		case goType == "*bool" && !ref.GQL.NonNull:
			return "marshal.BoolPtr"
		}
	}
	return ""
}

// writeStatement is the Go code that writes field f of obj to w.
func writeStatement(f *codegen.Field, isPlain func(string) bool) string {
	expr := "obj." + f.GoFieldName
	if f.IsMethod() {
		expr += "()"
	}
	ref := f.TypeReference
	if ref.GQL.Elem != nil {
		elem := ref.Elem()
		if elem.Definition.Kind != ast.Object {
			return fmt.Sprintf("ec.%s(ctx, f.Selections, %s).MarshalGQL(w)", ref.MarshalFunc(), expr)
		}
		null := ""
		if !ref.GQL.NonNull {
			null = "if v == nil {\nmarshal.Null(w)\nbreak\n}\n"
		}
		return fmt.Sprintf("v := %s\n%sec.writeList%s(ctx, w, f.Selections, v)", expr, null, elem.Definition.Name)
	}
	if ref.Definition.Kind == ast.Object {
		name := ref.Definition.Name
		if _, isPtr := ref.GO.(*types.Pointer); isPtr {
			return fmt.Sprintf("v := %s\nif v == nil {\nmarshal.Null(w)\nbreak\n}\nec.write%s(ctx, w, graphql.CollectFields(ec.OperationContext, f.Selections, %sImplementors), v)",
				expr, name, lcFirst(name))
		}
		return fmt.Sprintf("v := %s\nec.write%s(ctx, w, graphql.CollectFields(ec.OperationContext, f.Selections, %sImplementors), &v)",
			expr, name, lcFirst(name))
	}
	if fn := direct(ref); fn != "" {
		return fmt.Sprintf("%s(w, %s)", fn, expr)
	}
	return fmt.Sprintf("ec.%s(ctx, f.Selections, %s).MarshalGQL(w)", ref.MarshalFunc(), expr)
}

func lcFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

// plainWriters is the Go source of the writers of the plain and rich types.
func plainWriters(pkg string, plain []*plainType, rich []*richType) ([]byte, error) {
	imports := map[string]string{} // path → name
	qualifier := func(p *types.Package) string {
		imports[p.Path()] = p.Name()
		return p.Name()
	}
	var b bytes.Buffer
	for _, pt := range plain {
		name := pt.obj.Name
		goType := types.TypeString(pt.goType, qualifier)
		fmt.Fprintf(&b, `
// plain%[1]s answers a %[1]s with its writer, or nil when the selection
// must take gqlgen's way (something under it is deferred).
func (ec *executionContext) plain%[1]s(ctx context.Context, sel ast.SelectionSet, obj *%[2]s) graphql.Marshaler {
	if !marshal.Plain(sel) {
		return nil
	}
	fields := graphql.CollectFields(ec.OperationContext, sel, %[3]sImplementors)
	return graphql.WriterFunc(func(w io.Writer) { ec.write%[1]s(ctx, w, fields, obj) })
}

// plainList%[1]s answers a list of %[1]s with one writer, or nil when the
// selection must take gqlgen's way.
func (ec *executionContext) plainList%[1]s(ctx context.Context, sel ast.SelectionSet, v []%[2]s) graphql.Marshaler {
	if !marshal.Plain(sel) {
		return nil
	}
	return graphql.WriterFunc(func(w io.Writer) { ec.writeList%[1]s(ctx, w, sel, v) })
}

// writeList%[1]s writes a list of %[1]s.
func (ec *executionContext) writeList%[1]s(ctx context.Context, w io.Writer, sel ast.SelectionSet, v []%[2]s) {
	fields := graphql.CollectFields(ec.OperationContext, sel, %[3]sImplementors)
	marshal.Raw(w, "[")
	for i := range v {
		if i > 0 {
			marshal.Raw(w, ",")
		}
		ec.write%[1]s(ctx, w, fields, &v[i])
	}
	marshal.Raw(w, "]")
}

// write%[1]s writes the selected fields of a %[1]s.
func (ec *executionContext) write%[1]s(ctx context.Context, w io.Writer, fields []graphql.CollectedField, obj *%[2]s) {
`+objectWriterHead, name, goType, lcFirst(name))
		for _, f := range pt.fields {
			fmt.Fprintf(&b, "\t\tcase %q:\n%s\n", f.name, f.write)
		}
		b.WriteString(objectWriterTail)
	}
	b.Write(richWriters(rich, qualifier))
	var head bytes.Buffer
	fmt.Fprintf(&head, "// Code generated by cmd/gqlgen, DO NOT EDIT.\n\npackage %s\n\n", pkg)
	head.WriteString("// Writers of the plain and rich types: see internal/marshal and cmd/gqlgen.\n\nimport (\n\t\"context\"\n\t\"io\"\n\n")
	head.WriteString("\t\"github.com/99designs/gqlgen/graphql\"\n\t\"github.com/vektah/gqlparser/v2/ast\"\n\n")
	head.WriteString("\t\"github.com/orgraph/orgraph/internal/marshal\"\n")
	paths := make([]string, 0, len(imports))
	for p := range imports {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(&head, "\t%q\n", p)
	}
	head.WriteString(")\n")
	head.Write(b.Bytes())
	return format.Source(head.Bytes())
}

// A rich type is an object type whose fields are plain values or fields
// gqlgen resolves without a goroutine of their own: batch resolvers (one
// call for every parent of a list) and synchronous fields that need gqlgen's
// machinery (a directive, an argument, an object below). Its marshaller can
// skip gqlgen's per-object field set: plain fields are written straight
// away, the others resolved through gqlgen's own field functions, in order.
// It runs only when at most one field that can wait is selected, so two
// relations of one object still resolve in parallel as gqlgen would.
type richType struct {
	obj    *codegen.Object
	fields []richField
}

// richField is one field and how it is written: by a plain statement, or
// from gqlgen's field function, whose result counts against the object when
// it is the invalid value (null for a non-null field).
type richField struct {
	name    string
	write   string // plain statement; "" when resolved
	invalid string // graphql.Null or graphql.RequiredNull, for resolved fields
}

// richTypes finds them among objects that are not plain.
func richTypes(objects codegen.Objects, plain []*plainType) []*richType {
	isPlainName := map[string]bool{}
	for _, p := range plain {
		isPlainName[p.obj.Name] = true
	}
	isPlain := func(name string) bool { return isPlainName[name] }
	var out []*richType
	for _, o := range objects {
		if o.Root || strings.HasPrefix(o.Name, "__") || len(o.Directives) > 0 || isPlainName[o.Name] {
			continue
		}
		rt := &richType{obj: o}
		for _, f := range o.Fields {
			switch {
			case f.IsConcurrent() && !f.IsBatch():
				rt = nil
			case plainRead(f) && plainValue(f.TypeReference, isPlain):
				rt.fields = append(rt.fields, richField{name: f.Name, write: writeStatement(f, isPlain)})
			default:
				invalid := "graphql.RequiredNull"
				if f.TypeReference.GQL.NonNull {
					invalid = "graphql.Null"
				}
				rt.fields = append(rt.fields, richField{name: f.Name, invalid: invalid})
			}
			if rt == nil {
				break
			}
		}
		if rt != nil {
			out = append(out, rt)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].obj.Name < out[j].obj.Name })
	return out
}

// richWriters is the Go source of the marshallers of the rich types, added
// to the plain writers' file.
func richWriters(rich []*richType, qualifier types.Qualifier) []byte {
	var b bytes.Buffer
	for _, rt := range rich {
		name := rt.obj.Name
		goType := types.TypeString(rt.obj.Type, qualifier)
		fmt.Fprintf(&b, `
// rich%[1]s marshals a %[1]s without gqlgen's field set, or answers nil when
// the selection must take gqlgen's way (something deferred, or more than
// one field that can wait).
func (ec *executionContext) rich%[1]s(ctx context.Context, sel ast.SelectionSet, obj *%[2]s) graphql.Marshaler {
	if !marshal.Plain(sel) || waitingFields.Selected(%[1]q, sel) > 1 {
		return nil
	}
	fields := graphql.CollectFields(ec.OperationContext, sel, %[3]sImplementors)
	var values []graphql.Marshaler
	for i := range fields {
		switch fields[i].Name {
`, name, goType, lcFirst(name))
		for _, f := range rt.fields {
			if f.write != "" {
				continue
			}
			fmt.Fprintf(&b, `		case %q:
			if values == nil {
				values = make([]graphql.Marshaler, len(fields))
			}
			if values[i] = ec._%s_%s(ctx, fields[i], obj); values[i] == %s {
				return graphql.Null
			}
`, f.name, name, f.name, f.invalid)
		}
		fmt.Fprintf(&b, `		}
	}
	return graphql.WriterFunc(func(w io.Writer) { ec.writeRich%[1]s(ctx, w, fields, obj, values) })
}

// writeRich%[1]s writes the selected fields of a %[1]s: plain ones straight
// away, the others as they were resolved.
func (ec *executionContext) writeRich%[1]s(ctx context.Context, w io.Writer, fields []graphql.CollectedField, obj *%[2]s, values []graphql.Marshaler) {
`+objectWriterHead, name, goType)
		for _, f := range rt.fields {
			if f.write != "" {
				fmt.Fprintf(&b, "\t\tcase %q:\n%s\n", f.name, f.write)
			} else {
				fmt.Fprintf(&b, "\t\tcase %q:\n\t\t\tvalues[i].MarshalGQL(w)\n", f.name)
			}
		}
		b.WriteString(objectWriterTail)
	}
	return b.Bytes()
}

// objectWriterHead and objectWriterTail are what a plain and a rich writer
// share around their cases: each selected field as "alias": value, in
// order; %[1]s is the type's name. The cases of the type's fields go
// between them.
const (
	objectWriterHead = `	marshal.Raw(w, "{")
	for i := range fields {
		f := &fields[i]
		if i > 0 {
			marshal.Raw(w, ",")
		}
		marshal.String(w, f.Alias)
		marshal.Raw(w, ":")
		switch f.Name {
		case "__typename":
			marshal.String(w, %[1]q)
`
	objectWriterTail = "\t\tdefault:\n\t\t\tmarshal.Null(w) // validation admits no other field\n\t\t}\n\t}\n\tmarshal.Raw(w, \"}\")\n}\n"
)

// hookPlainTypes has gqlgen's marshaller of each plain type, and its list
// marshallers, answer with the plain writer first. Every plain type must be
// found, or gqlgen's output changed shape.
func hookPlainTypes(src []byte, plain []*plainType, rich []*richType) ([]byte, error) {
	s := string(src)
	hooks := make(map[string]string, len(plain)+len(rich)) // type → its writer's entry
	for _, pt := range plain {
		hooks[pt.obj.Name] = "plain"
	}
	for _, rt := range rich {
		hooks[rt.obj.Name] = "rich"
	}
	names := make([]string, 0, len(hooks))
	for name := range hooks {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		header := fmt.Sprintf("func (ec *executionContext) _%s(ctx context.Context, sel ast.SelectionSet, obj *", name)
		i := strings.Index(s, header)
		if i < 0 {
			return nil, fmt.Errorf("no marshaller _%s for type %s: gqlgen changed, check cmd/gqlgen", name, name)
		}
		open := i + strings.Index(s[i:], "{\n") + 2
		s = s[:open] + fmt.Sprintf("\tif m := ec.%s%s(ctx, sel, obj); m != nil {\n\t\treturn m\n\t}\n", hooks[name], name) + s[open:]
	}
	// Lists of plain types whose Go elements are values.
	var b strings.Builder
	last := 0
	for _, loc := range listMarshaller.FindAllStringSubmatchIndex(s, -1) {
		name, param := s[loc[2]:loc[3]], s[loc[4]:loc[5]]
		pt := findPlain(plain, name)
		if pt == nil || !strings.HasPrefix(param, "[]") || strings.HasPrefix(param, "[]*") {
			continue
		}
		body, err := marshallerBody(s, loc[1])
		if err != nil {
			return nil, err
		}
		at := strings.Index(body, "\tret := marshal.List(")
		if at < 0 {
			return nil, fmt.Errorf("list marshaller of %s without marshal.List: gqlgen changed, check cmd/gqlgen", name)
		}
		at += loc[1]
		b.WriteString(s[last:at])
		fmt.Fprintf(&b, "\tif m := ec.plainList%s(ctx, sel, v); m != nil {\n\t\treturn m\n\t}\n", name)
		last = at
	}
	b.WriteString(s[last:])
	return format.Source([]byte(b.String()))
}

func findPlain(plain []*plainType, name string) *plainType {
	for _, pt := range plain {
		if pt.obj.Name == name {
			return pt
		}
	}
	return nil
}
