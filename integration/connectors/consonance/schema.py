"""Fit Colophon's query documents to the schema a Consonance server really has.

The shipped documents (``queries/*.graphql``) use only the documented surface
(``../shared/reference/consonance-schema.graphql``; the contract test validates them). A real server
may still lack parts the reference marks unconfirmed (the ``contracts`` list root, its ``after``,
``LicensedRight.territory`` …) or fields a tenant's version does not have, and one unknown field
fails the whole query. So before a sync the client introspects the server once (cached per client,
i.e. per run) and ``fit_document`` removes what the server does not offer:

* an optional field, argument, input field or fragment type the server lacks is dropped and named
  in ``Fitted.dropped`` (the sync shows "this Consonance does not offer …");
* a part the operation cannot work without (``REQUIRED``: the root field, keyset ``after``, ids,
  a work's title and imprint …) is named in ``Fitted.missing``; the caller skips that part of the
  sync (optional roots) or stops with a clear error.

Product availability (ONIX list 65) is the one tolerated guess: the reference names a type
``ONIXProductAvailabilityCode`` but no field. When the server's Product type has a field of that
type, it is selected under the alias ``availability`` (``{code}`` when it is an object type);
otherwise nothing is asked for. No field name is invented.

Imports graphql-core only (connectors import nothing above ``lib``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from graphql import (
    FieldNode,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    build_client_schema,
    get_introspection_query,
    get_named_type,
    parse,
    print_ast,
    visit,
)
from graphql.language import Visitor

INTROSPECTION = get_introspection_query(descriptions=False)
INTROSPECTION_OPERATION = "IntrospectionQuery"
AVAILABILITY_TYPE = "ONIXProductAvailabilityCode"

# Parts without which an operation cannot do its job. Everything else is optional.
REQUIRED: dict[str, frozenset[str]] = {
    "WorksPage": frozenset(
        {
            "Query.works",
            "Query.works(workSearch)",
            "WorkSearchAttributes.after",
            "Work.id",
            "Work.title",
            "Work.imprint",
            "Imprint.id",
            "Product.id",
            "Contribution.contributor",
            "Contact.id",
            "Price.amount",
            "Price.currencyCode",
        }
    ),
    # Write-back: the mutation and its input; the payload's fields are all optional.
    "UpdateContract": frozenset({"Mutation.updateContract", "Mutation.updateContract(input)"}),
    "UpdateDeliveryDate": frozenset(
        {"Mutation.updateDeliveryDate", "Mutation.updateDeliveryDate(input)"}
    ),
    "UpdateGratisCopy": frozenset(
        {"Mutation.updateGratisCopy", "Mutation.updateGratisCopy(input)"}
    ),
    "ContractsPage": frozenset(
        {
            "Query.contracts",
            "Query.contracts(contractSearch)",
            "ContractSearchAttributes.after",
            "Contract.id",
            "Contract.work",
            "Work.id",
        }
    ),
}


# Reference §5 and §8: the payload ``errors`` shape differs between the vendor's examples
# (``{field message}``, ``{attribute message}``, ``{field messages}``; the SDL lists field,
# message and messages) and the reference says to introspect before selecting it. In a mutation
# every ``errors`` selection is widened to all those names, then fitted: the server's error type
# keeps the ones it has. Without introspection the shipped selection goes as it is.
ERROR_FIELDS = "{ field attribute message messages }"


def _with_error_fields(selection_set: SelectionSetNode) -> SelectionSetNode:
    widened = parse("{ errors " + ERROR_FIELDS + " }").definitions[0]
    assert isinstance(widened, OperationDefinitionNode)
    errors = widened.selection_set.selections[0]
    assert isinstance(errors, FieldNode)
    kept: list[Any] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode) and selection.selection_set is not None:
            inner = (
                errors.selection_set
                if selection.name.value == "errors"
                else _with_error_fields(selection.selection_set)
            )
            selection = replace(selection, selection_set=inner)
        kept.append(selection)
    return replace(selection_set, selections=tuple(kept))


@dataclass
class Fitted:
    """A query document as it will be sent to this server, and what was changed to get there."""

    operation: str
    source: str
    variables: frozenset[str]
    dropped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not self.missing


def schema_from_introspection(data: dict[str, Any]) -> GraphQLSchema:
    """A client-side schema from an introspection result (``data`` of ``INTROSPECTION``)."""
    return build_client_schema(data)  # type: ignore[arg-type]


def _variables(source_ast: Any) -> frozenset[str]:
    names = set()
    for definition in source_ast.definitions:
        if isinstance(definition, OperationDefinitionNode):
            names |= {v.variable.name.value for v in definition.variable_definitions or ()}
    return frozenset(names)


def as_shipped(operation: str, source: str) -> Fitted:
    """The document unchanged (the server's schema is unknown)."""
    return Fitted(operation=operation, source=source, variables=_variables(parse(source)))


class _Pruner:
    def __init__(self, schema: GraphQLSchema, required: frozenset[str]) -> None:
        self.schema = schema
        self.required = required
        self.dropped: list[str] = []
        self.missing: list[str] = []

    def lacks(self, label: str) -> None:
        target = self.missing if label in self.required else self.dropped
        if label not in target:
            target.append(label)

    def prune(self, selection_set: SelectionSetNode, parent: Any) -> SelectionSetNode:
        """``selection_set`` without what ``parent`` (and the types below it) lacks. AST nodes
        are frozen: a pruned copy is returned."""
        kept: list[Any] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                pruned = self._field(selection, parent)
                if pruned is not None:
                    kept.append(pruned)
            elif isinstance(selection, InlineFragmentNode):
                name = selection.type_condition.name.value if selection.type_condition else None
                inner = self.schema.get_type(name) if name else parent
                if inner is None:
                    self.dropped.append(f"... on {name}")
                    continue
                inner_set = self.prune(selection.selection_set, inner)
                if inner_set.selections:
                    kept.append(replace(selection, selection_set=inner_set))
            else:
                kept.append(selection)
        return replace(selection_set, selections=tuple(kept))

    def _field(self, node: FieldNode, parent: Any) -> FieldNode | None:
        name = node.name.value
        if name.startswith("__"):
            return node
        fields = getattr(parent, "fields", {})
        definition = fields.get(name)
        label = f"{parent.name}.{name}"
        if definition is None:
            self.lacks(label)
            return None
        arguments = []
        for argument in node.arguments or ():
            arg_name = argument.name.value
            arg_def = definition.args.get(arg_name)
            if arg_def is None:
                self.lacks(f"{label}({arg_name})")
                continue
            named = get_named_type(arg_def.type)
            value = argument.value
            if isinstance(value, ObjectValueNode) and isinstance(named, GraphQLInputObjectType):
                present = []
                for item in value.fields:
                    if item.name.value in named.fields:
                        present.append(item)
                    else:
                        self.lacks(f"{named.name}.{item.name.value}")
                argument = replace(argument, value=replace(value, fields=tuple(present)))
            arguments.append(argument)
        node = replace(node, arguments=tuple(arguments))
        if node.selection_set is not None:
            inner = self.prune(node.selection_set, get_named_type(definition.type))
            if not inner.selections:
                self.lacks(label)
                return None
            node = replace(node, selection_set=inner)
        return node


class _UsedVariables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.in_definition = 0

    def enter_variable_definition(self, *_args: Any) -> Any:
        self.in_definition += 1

    def leave_variable_definition(self, *_args: Any) -> Any:
        self.in_definition -= 1

    def enter_variable(self, node: VariableNode, *_args: Any) -> Any:
        if not self.in_definition:
            self.names.add(node.name.value)


def _availability_selection(schema: GraphQLSchema) -> tuple[str, str] | None:
    """(field name, selection text) of a Product field whose type is the documented
    ``ONIXProductAvailabilityCode`` type, when the server has one."""
    product = schema.get_type("Product")
    if not isinstance(product, GraphQLObjectType | GraphQLInterfaceType):
        return None
    for name, definition in product.fields.items():
        named = get_named_type(definition.type)
        if named.name != AVAILABILITY_TYPE:
            continue
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            if "code" not in named.fields:
                return None
            return name, f"availability: {name} {{ code }}"
        return name, f"availability: {name}"
    return None


def _with_availability(selection_set: SelectionSetNode, extra: Any) -> SelectionSetNode:
    """``selection_set`` with ``extra`` selections added to the first ``products`` field."""
    kept: list[Any] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode) and selection.selection_set is not None:
            inner = selection.selection_set
            if selection.name.value == "products":
                inner = replace(inner, selections=(*inner.selections, *extra))
            else:
                inner = _with_availability(inner, extra)
            selection = replace(selection, selection_set=inner)
        kept.append(selection)
    return replace(selection_set, selections=tuple(kept))


def fit_document(operation: str, source: str, schema: GraphQLSchema) -> Fitted:
    """``source`` with whatever ``schema`` does not offer removed (see the module docstring)."""
    document = parse(source)
    pruner = _Pruner(schema, REQUIRED.get(operation, frozenset()))
    added: list[str] = []
    definitions: list[Any] = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            definitions.append(definition)
            continue
        root = schema.get_root_type(definition.operation)
        if root is None:
            kind = "mutation" if definition.operation == OperationType.MUTATION else "query"
            pruner.missing.append(f"the {kind} root")
            definitions.append(definition)
            continue
        selection_set: SelectionSetNode = definition.selection_set
        if definition.operation == OperationType.MUTATION:
            selection_set = _with_error_fields(selection_set)
        selection_set = pruner.prune(selection_set, root)
        extra = _availability_selection(schema) if operation == "WorksPage" else None
        if extra is not None:
            node = parse("{ " + extra[1] + " }").definitions[0]
            assert isinstance(node, OperationDefinitionNode)
            selection_set = _with_availability(selection_set, node.selection_set.selections)
            added.append(f"Product.{extra[0]} (availability, type {AVAILABILITY_TYPE})")
        definitions.append(replace(definition, selection_set=selection_set))
    document = replace(document, definitions=tuple(definitions))
    used = _UsedVariables()
    visit(document, used)
    document = replace(
        document,
        definitions=tuple(
            replace(
                d,
                variable_definitions=tuple(
                    v for v in d.variable_definitions or () if v.variable.name.value in used.names
                ),
            )
            if isinstance(d, OperationDefinitionNode)
            else d
            for d in document.definitions
        ),
    )
    return Fitted(
        operation=operation,
        source=print_ast(document),
        variables=_variables(document),
        dropped=pruner.dropped,
        missing=pruner.missing,
        added=added,
    )
