package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	apiv1 "github.com/moorcd/moor/pkg/api/moor/api/v1"
	"github.com/moorcd/moor/pkg/apis/application/v1alpha1"
	"github.com/moorcd/moor/pkg/rbac"
)

// errUnsupported is a part of an ApplicationSet that Generate does not render yet (answered Unimplemented).
type errUnsupported struct{ msg string }

func (e *errUnsupported) Error() string { return e.msg }

func unsupported(format string, args ...any) error {
	return &errUnsupported{msg: fmt.Sprintf(format, args...) +
		"; Generate renders the list generator with {{param}} substitution only, until the ApplicationSet controller arrives"}
}

// Generate returns the Applications a set would produce, without creating anything. It needs what Create
// needs: applicationsets create on the set and applications create on each Application it renders.
//
// Only the list generator (elements or elementsYaml, its selector and its template override) is rendered,
// with Argo CD's `{{param}}` substitution (goTemplate false): element keys are parameters, the keys of an
// element's "values" map are "values.<key>", and a placeholder without a parameter stays as written. Other
// generators, goTemplate and templatePatch answer Unimplemented, naming the field.
func (s *ApplicationSetServer) Generate(ctx context.Context, req *apiv1.ApplicationSetServiceGenerateRequest) (*apiv1.ApplicationSetServiceGenerateResponse, error) {
	set, err := s.appSetFromRequest(req.GetApplicationSet())
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	if err := s.authorize(ctx, rbac.ResourceApplicationSets, rbac.ActionCreate, appSetObject(set)); err != nil {
		return nil, err
	}
	if err := s.validateAppSet(ctx, set); err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	apps, err := generateApplications(set)
	var unsup *errUnsupported
	if errors.As(err, &unsup) {
		return nil, status.Error(codes.Unimplemented, unsup.Error())
	}
	if err != nil {
		return nil, toStatus(ctx, s.d.Log, err)
	}
	out := make([]*apiv1.Application, 0, len(apps))
	for _, a := range apps {
		if err := s.authorize(ctx, rbac.ResourceApplications, rbac.ActionCreate, rbac.AppObject(projectOf(a), a.Name)); err != nil {
			return nil, err
		}
		msg, err := appMessage(a)
		if err != nil {
			return nil, toStatus(ctx, s.d.Log, err)
		}
		out = append(out, msg)
	}
	return &apiv1.ApplicationSetServiceGenerateResponse{Applications: out}, nil
}

// generateApplications renders the Applications of set's list generators, in generator and element order.
func generateApplications(set *v1alpha1.ApplicationSet) ([]*v1alpha1.Application, error) {
	if set.Spec.GoTemplate != nil && *set.Spec.GoTemplate {
		return nil, unsupported("spec.goTemplate: Go templates are not rendered yet")
	}
	if p := set.Spec.TemplatePatch; p != nil && strings.TrimSpace(*p) != "" {
		return nil, unsupported("spec.templatePatch: template patches are not applied yet")
	}
	base, err := jsonMap(set.Spec.Template)
	if err != nil {
		return nil, err
	}
	var out []*v1alpha1.Application
	rendered := map[string]string{} // app name -> field that rendered it
	for i := range set.Spec.Generators {
		g := &set.Spec.Generators[i]
		field := fmt.Sprintf("spec.generators[%d]", i)
		if g.List == nil {
			return nil, unsupported("%s: the %s generator is not rendered yet", field, strings.Join(generatorKinds(g), ", "))
		}
		sel := labels.Everything()
		if g.Selector != nil {
			if sel, err = metav1.LabelSelectorAsSelector(g.Selector); err != nil {
				return nil, invalid(field+".selector", "%v", err)
			}
		}
		tmpl := base
		if g.List.Template != nil {
			over, err := jsonMap(g.List.Template)
			if err != nil {
				return nil, err
			}
			tmpl = mergeTemplate(deepCopyJSON(base).(map[string]any), over)
		}
		params, err := listParams(field+".list", g.List)
		if err != nil {
			return nil, err
		}
		for j, p := range params {
			if !sel.Matches(labels.Set(p)) {
				continue
			}
			elem := fmt.Sprintf("%s.list.elements[%d]", field, j)
			app, err := renderApplication(tmpl, p, set.Namespace)
			if err != nil {
				return nil, invalid(elem, "%v", err)
			}
			if prev, dup := rendered[app.Name]; dup {
				return nil, invalid(elem, "renders Application %s, which %s renders too", app.Name, prev)
			}
			rendered[app.Name] = elem
			out = append(out, app)
		}
	}
	return out, nil
}

// renderApplication substitutes params into a template (in its JSON form) and builds the Application.
func renderApplication(tmpl map[string]any, params map[string]string, namespace string) (*v1alpha1.Application, error) {
	b, err := json.Marshal(substitute(tmpl, params))
	if err != nil {
		return nil, err
	}
	var t v1alpha1.ApplicationSetTemplate
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("the rendered template is not an Application: %w", err)
	}
	if t.Name == "" {
		return nil, errors.New("renders an Application without a name")
	}
	if errs := validation.IsDNS1123Subdomain(t.Name); len(errs) > 0 {
		return nil, fmt.Errorf("renders the Application name %q: %s", t.Name, strings.Join(errs, "; "))
	}
	if t.Namespace != "" {
		namespace = t.Namespace
	}
	return &v1alpha1.Application{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "Application"},
		ObjectMeta: metav1.ObjectMeta{
			Name: t.Name, Namespace: namespace, Labels: t.Labels, Annotations: t.Annotations, Finalizers: t.Finalizers,
		},
		Spec: t.Spec,
	}, nil
}

// listParams returns the parameter sets of a list generator, one per element. field names the generator.
func listParams(field string, g *v1alpha1.ListGenerator) ([]map[string]string, error) {
	var raw [][]byte
	for _, e := range g.Elements {
		raw = append(raw, e.Raw)
	}
	if len(raw) == 0 && strings.TrimSpace(g.ElementsYaml) != "" {
		j, err := yaml.YAMLToJSON([]byte(g.ElementsYaml))
		if err != nil {
			return nil, invalid(field+".elementsYaml", "%v", err)
		}
		var list []json.RawMessage
		if err := json.Unmarshal(j, &list); err != nil {
			return nil, invalid(field+".elementsYaml", "not a list of elements: %v", err)
		}
		for _, e := range list {
			raw = append(raw, e)
		}
	}
	out := make([]map[string]string, 0, len(raw))
	for i, r := range raw {
		elem := fmt.Sprintf("%s.elements[%d]", field, i)
		d := json.NewDecoder(bytes.NewReader(r))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil || m == nil {
			return nil, invalid(elem, "an element is an object of parameters")
		}
		params := make(map[string]string, len(m))
		for k, v := range m {
			if vals, ok := v.(map[string]any); ok && k == "values" {
				for vk, vv := range vals {
					s, ok := paramString(vv)
					if !ok {
						return nil, invalid(elem+".values."+vk, "is not a string: without goTemplate, parameters are strings")
					}
					params["values."+vk] = s
				}
				continue
			}
			s, ok := paramString(v)
			if !ok {
				return nil, invalid(elem+"."+k, "is not a string: without goTemplate, parameters are strings (and a values map of strings)")
			}
			params[k] = s
		}
		out = append(out, params)
	}
	return out, nil
}

// paramString is the text of a scalar parameter; numbers and booleans are written as in JSON.
func paramString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case nil:
		return "", true
	}
	return "", false
}

// substitute replaces the {{param}} placeholders in every string and object key of v (a decoded JSON value).
func substitute(v any, params map[string]string) any {
	switch x := v.(type) {
	case string:
		return replaceParams(x, params)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[replaceParams(k, params)] = substitute(e, params)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = substitute(e, params)
		}
		return out
	}
	return v
}

// replaceParams replaces each {{ name }} in s (spaces inside the braces ignored) by the parameter name; a
// placeholder without a parameter, and an unclosed {{, stay as written.
func replaceParams(s string, params map[string]string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			break
		}
		end := i + 2 + j + 2
		b.WriteString(s[:i])
		if v, ok := params[strings.TrimSpace(s[i+2:end-2])]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[i:end])
		}
		s = s[end:]
	}
	b.WriteString(s)
	return b.String()
}

// mergeTemplate overlays a generator's template override on the set's template (both in JSON form): every
// non-empty value of over replaces the one in dst, objects merge key by key, lists are replaced.
func mergeTemplate(dst, over map[string]any) map[string]any {
	for k, v := range over {
		if sub, ok := v.(map[string]any); ok {
			if cur, ok := dst[k].(map[string]any); ok {
				dst[k] = mergeTemplate(cur, sub)
				continue
			}
		}
		if !emptyJSON(v) {
			dst[k] = deepCopyJSON(v)
		}
	}
	return dst
}

func emptyJSON(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case float64:
		return x == 0
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

func deepCopyJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopyJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopyJSON(e)
		}
		return out
	}
	return v
}

// jsonMap is the JSON form of v as a map.
func jsonMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	return out, json.Unmarshal(b, &out)
}
