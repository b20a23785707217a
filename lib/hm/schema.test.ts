import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import {
  ARTICLES,
  CUSTOMERS,
  csvField,
  csvLine,
  headerLine,
  SPARK_CSV_OPTIONS,
  sparkDdl,
  TABLES,
  TRANSACTIONS,
} from './schema.ts';

describe('schema', () => {
  it('defines the real files: 25, 7 and 5 columns with the real names and order', () => {
    expect(ARTICLES.columns).toHaveLength(25);
    expect(CUSTOMERS.columns).toHaveLength(7);
    expect(headerLine(TRANSACTIONS)).toBe('t_dat,customer_id,article_id,price,sales_channel_id');
    expect(headerLine(CUSTOMERS)).toBe(
      'customer_id,FN,Active,club_member_status,fashion_news_frequency,age,postal_code',
    );
    expect(ARTICLES.columns[0]!.name).toBe('article_id');
    expect(ARTICLES.columns.at(-1)!).toMatchObject({ name: 'detail_desc', nullable: true });
    expect(Object.keys(TABLES)).toEqual(['articles', 'customers', 'transactions']);
  });

  it('gives explicit Spark schemas that keep ids as strings', () => {
    expect(sparkDdl(TRANSACTIONS)).toBe(
      't_dat DATE, customer_id STRING, article_id STRING, price DOUBLE, sales_channel_id INT',
    );
    expect(sparkDdl(ARTICLES)).toMatch(/^article_id STRING, product_code INT, prod_name STRING, /);
    expect(sparkDdl(CUSTOMERS)).toBe(
      'customer_id STRING, FN DOUBLE, Active DOUBLE, club_member_status STRING, fashion_news_frequency STRING, age DOUBLE, postal_code STRING',
    );
    expect(SPARK_CSV_OPTIONS).toMatchObject({
      header: 'true',
      quote: '"',
      escape: '"',
      multiLine: 'false',
      nullValue: '',
    });
  });

  it('id patterns accept the real forms and refuse the usual corruptions', () => {
    const articleId = ARTICLES.columns[0]!.pattern!;
    expect(articleId.test('0108775015')).toBe(true);
    expect(articleId.test('108775015')).toBe(false);
    const customerId = CUSTOMERS.columns[0]!.pattern!;
    expect(customerId.test('0'.repeat(63) + 'f')).toBe(true);
    expect(customerId.test('0'.repeat(63) + 'F')).toBe(false);
  });

  it('quotes fields only when needed, and the result parses back', () => {
    expect(csvField('Strap top')).toBe('Strap top');
    expect(csvField('Under-, Nightwear')).toBe('"Under-, Nightwear"');
    expect(csvField('a "PARTY" text')).toBe('"a ""PARTY"" text"');
    const values = ['0108775015', 'Top, short', 'say "hi"', '', 'appliqué'];
    expect(parse(csvLine(values))).toEqual([values]);
  });
});
